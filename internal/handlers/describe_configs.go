package handlers

// DescribeConfigs (key 32), v0–v4. Resource types TOPIC (every topic
// config Strata implements, with the effective value) and BROKER: "" lists
// the dynamic cluster-wide defaults that are set, this broker's id lists
// every broker config. Sources (v1+) and synonyms (v1+, when asked) follow
// Kafka (KIP-226): a topic config's synonyms are its override, then the
// broker config that supplies its default at each level; v0 gets only
// IsDefault. Config types and documentation from v3 (KIP-569).
//
// Differences from Kafka: BROKER_LOGGER, CLIENT_METRICS and GROUP
// resources are INVALID_REQUEST; a static broker value hidden by a dynamic
// one is not listed among the synonyms (the handlers see only the
// effective broker config); an unknown topic's error carries a message.

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 32, MinVersion: 0, MaxVersion: 4, Handle: describeConfigs})
}

func describeConfigs(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	img := env.Meta.Image()
	for _, rr := range r.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType = rr.ResourceType
		sr.ResourceName = rr.ResourceName
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			sr.Configs, err = describeTopicConfigs(env, img, r, rr)
		case kmsg.ConfigResourceTypeBroker:
			sr.Configs, err = describeBrokerConfigs(env, img, r, rr)
		default:
			err = fmt.Errorf("%w: unsupported resource type %d", errInvalidRequest, rr.ResourceType)
		}
		if err != nil {
			sr.Configs = nil
			sr.ErrorCode = errorCode(err)
			sr.ErrorMessage = errorMessage(err)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// configWanted reports whether a resource's request asks for config name
// (no names, null or empty, means all).
func configWanted(rr kmsg.DescribeConfigsRequestResource, name string) bool {
	return len(rr.ConfigNames) == 0 || slices.Contains(rr.ConfigNames, name)
}

func describeTopicConfigs(env *Env, img *metadata.Image, r *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	if err := metadata.ValidateTopicName(rr.ResourceName); err != nil {
		return nil, err
	}
	t := img.Topic(rr.ResourceName)
	if t == nil {
		return nil, fmt.Errorf("%w: topic %q does not exist", metadata.ErrUnknownTopic, rr.ResourceName)
	}
	tc := env.Config().Topic(t.Configs)
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range slices.Sorted(maps.Keys(config.TopicDefs)) {
		if !configWanted(rr, name) {
			continue
		}
		v := tc.Get(name)
		out = append(out, describedConfig(r, config.TopicDefs[name], &v, topicSynonyms(env, img, t, name), false))
	}
	return out, nil
}

func describeBrokerConfigs(env *Env, img *metadata.Image, r *kmsg.DescribeConfigsRequest, rr kmsg.DescribeConfigsRequestResource) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	key, err := brokerResourceKey(env, rr.ResourceName)
	if err != nil {
		return nil, err
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	if key == "" {
		// The cluster-wide resource holds only what was set there.
		dyn := img.BrokerConfigs[""]
		for _, name := range slices.Sorted(maps.Keys(dyn)) {
			def := config.BrokerDefs[name]
			if def == nil || !configWanted(rr, name) {
				continue
			}
			v := dyn[name]
			out = append(out, describedConfig(r, def, &v, brokerSynonyms(env, img, name, false), !def.Dynamic))
		}
		return out, nil
	}
	eff := env.Config()
	for _, name := range eff.Names() {
		if !configWanted(rr, name) {
			continue
		}
		var value *string
		if v, ok := eff.Get(name); ok {
			value = &v
		}
		def := config.BrokerDefs[name]
		out = append(out, describedConfig(r, def, value, brokerSynonyms(env, img, name, true), !def.Dynamic))
	}
	return out, nil
}
