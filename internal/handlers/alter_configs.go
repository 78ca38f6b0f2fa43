package handlers

// AlterConfigs (key 33), v0–v2: the legacy alter, which replaces a
// resource's whole dynamic config set (keys left out are removed);
// validate_only checks everything and writes nothing. TOPIC resources take
// the topic configs Strata implements; a bad name or value is
// INVALID_CONFIG naming the config. BROKER resources ("" = cluster-wide
// default, or this broker's id) take only the broker configs marked
// dynamic; anything else is INVALID_REQUEST ("cannot update these configs
// dynamically"), the code Kafka uses for every bad dynamic broker config
// (KAFKA-13609). A resource named twice, a key named twice and a null
// value are INVALID_REQUEST, as in Kafka.
//
// Differences from Kafka: unknown broker config names are refused rather
// than stored as custom configs, since nothing would read them.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
)

func init() {
	register(API{Key: 33, MinVersion: 0, MaxVersion: 2, Handle: alterConfigs})
}

func alterConfigs(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	errs := alterEach(r.Resources,
		func(rr kmsg.AlterConfigsRequestResource) resourceKey {
			return resourceKey{rr.ResourceType, rr.ResourceName}
		},
		func(rr kmsg.AlterConfigsRequestResource) error { return alterConfigsResource(env, rr, r.ValidateOnly) })
	for i, rr := range r.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType = rr.ResourceType
		sr.ResourceName = rr.ResourceName
		sr.ErrorCode = errorCode(errs[i])
		sr.ErrorMessage = errorMessage(errs[i])
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func alterConfigsResource(env *Env, rr kmsg.AlterConfigsRequestResource, validateOnly bool) error {
	names := make([]string, 0, len(rr.Configs))
	var nulls []string
	set := make(map[string]string, len(rr.Configs))
	for _, c := range rr.Configs {
		names = append(names, c.Name)
		if c.Value == nil {
			nulls = append(nulls, c.Name)
			continue
		}
		set[c.Name] = *c.Value
	}
	if err := configRequestChecks(names, nulls); err != nil {
		return err
	}
	return alterDynamicConfigs(env, rr.ResourceType, rr.ResourceName, validateOnly,
		func(map[string]string, config.Set) (map[string]string, error) { return set, nil })
}
