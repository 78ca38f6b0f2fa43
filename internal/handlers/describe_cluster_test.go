package handlers_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeCluster(t *testing.T) {
	e := admStart(t, map[string]string{"broker.rack": "r1"})
	host, port, _ := net.SplitHostPort(e.addr)
	wantPort, _ := strconv.Atoi(port)

	md := kmsg.NewPtrMetadataRequest()
	mresp := e.request(md).(*kmsg.MetadataResponse)
	if mresp.ClusterID == nil || *mresp.ClusterID == "" {
		t.Fatalf("metadata has no cluster id")
	}

	req := kmsg.NewPtrDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations = true
	resp := e.request(req).(*kmsg.DescribeClusterResponse)
	wantCode(t, "describe cluster", resp.ErrorCode, resp.ErrorMessage, nil, "")
	if resp.ClusterID != *mresp.ClusterID {
		t.Errorf("cluster id %q, metadata says %q", resp.ClusterID, *mresp.ClusterID)
	}
	if resp.ControllerID != admNodeID || resp.EndpointType != 1 {
		t.Errorf("controller %d, endpoint type %d; want %d, 1", resp.ControllerID, resp.EndpointType, admNodeID)
	}
	if len(resp.Brokers) != 1 {
		t.Fatalf("brokers %+v, want one", resp.Brokers)
	}
	b := resp.Brokers[0]
	if b.NodeID != admNodeID || b.Host != host || b.Port != int32(wantPort) || ptrStr(b.Rack) != "r1" || b.IsFenced {
		t.Errorf("broker %+v (rack %s), want node %d at %s:%d in r1, not fenced", b, ptrStr(b.Rack), admNodeID, host, wantPort)
	}
	// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
	// ALTER_CONFIGS, IDEMPOTENT_WRITE.
	if resp.ClusterAuthorizedOperations != 8096 {
		t.Errorf("cluster authorized operations %b, want %b", resp.ClusterAuthorizedOperations, 8096)
	}

	req = kmsg.NewPtrDescribeClusterRequest()
	resp = e.request(req).(*kmsg.DescribeClusterResponse)
	if resp.ClusterAuthorizedOperations != -2147483648 {
		t.Errorf("unrequested authorized operations %d, want -2147483648", resp.ClusterAuthorizedOperations)
	}

	for _, c := range []struct {
		typ  int8
		want *kerr.Error
	}{{2, kerr.MismatchedEndpointType}, {0, kerr.UnsupportedEndpointType}, {3, kerr.UnsupportedEndpointType}} {
		req = kmsg.NewPtrDescribeClusterRequest()
		req.EndpointType = c.typ
		resp = e.request(req).(*kmsg.DescribeClusterResponse)
		wantCode(t, "endpoint type "+strconv.Itoa(int(c.typ)), resp.ErrorCode, resp.ErrorMessage, c.want, "")
		if len(resp.Brokers) != 0 {
			t.Errorf("endpoint type %d: error and %d brokers", c.typ, len(resp.Brokers))
		}
	}

	// Through kadm, as a client would.
	bd, err := e.adm.ListBrokers(e.ctx())
	if err != nil || len(bd) != 1 || bd[0].NodeID != admNodeID {
		t.Fatalf("kadm list brokers: %v, %+v", err, bd)
	}
}
