package handlers

// DescribeCluster (key 60), v0–v2 (KIP-700; endpoint type v1, KIP-919;
// fenced brokers v2, KIP-1073). The cluster id, the controller and the
// registered brokers, from the metadata image. This listener is a broker
// endpoint: a request for controller endpoints (type 2) is answered with
// MISMATCHED_ENDPOINT_TYPE and an unknown type with
// UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker does. The unfenced brokers
// are listed; v2's IncludeFencedBrokers adds the fenced ones, marked.
// Cluster authorized operations are all the cluster operations (no
// authorizer).
//
// The controller id is the active controller when it is a live broker,
// else another live broker (see controllerID): every broker forwards
// controller work, so a client never gets a node it cannot reach.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 60, MinVersion: 0, MaxVersion: 2, Handle: describeCluster})
}

const (
	endpointTypeBroker     = 1
	endpointTypeController = 2
)

// allClusterOperations is the authorized-operations bitmask Kafka reports
// for the cluster when no authorizer denies anything: CREATE, ALTER,
// DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS and
// IDEMPOTENT_WRITE.
const allClusterOperations = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12

func describeCluster(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = endpointTypeBroker
	switch r.EndpointType {
	case endpointTypeBroker:
	case endpointTypeController:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		resp.ErrorMessage = errorMessage(fmt.Errorf("this is a broker endpoint; controller endpoints were asked for"))
		return resp, nil
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.ErrorMessage = errorMessage(fmt.Errorf("unsupported endpoint type %d", r.EndpointType))
		return resp, nil
	}

	img := env.Meta.Image()
	resp.ClusterID = img.ClusterID
	for _, id := range img.BrokerIDs() {
		b := img.Brokers[id]
		if b.Fenced && !r.IncludeFencedBrokers {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.IsFenced = b.Fenced
		rb.NodeID = b.NodeID
		rb.Host = b.Host
		rb.Port = b.Port
		if b.Rack != "" {
			rack := b.Rack
			rb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	resp.ControllerID = controllerID(env, img)
	if r.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOperations
	}
	return resp, nil
}
