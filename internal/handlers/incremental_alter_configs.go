package handlers

// IncrementalAlterConfigs (key 44), v0–v1 (KIP-339). Operations SET,
// DELETE, APPEND and SUBTRACT are applied in request order on top of the
// resource's current dynamic set; the result is checked as a whole, the
// same way as AlterConfigs (see alter_configs.go), and written as one
// metadata record. APPEND and SUBTRACT work on list configs only
// (otherwise INVALID_CONFIG); when the key has no dynamic value they start
// from the config's built-in default, as Kafka does. validate_only checks
// everything and writes nothing. BROKER_LOGGER (KIP-412) is not served:
// INVALID_REQUEST.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
)

func init() {
	register(API{Key: 44, MinVersion: 0, MaxVersion: 1, Handle: incrementalAlterConfigs})
}

func incrementalAlterConfigs(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	errs := alterEach(r.Resources,
		func(rr kmsg.IncrementalAlterConfigsRequestResource) resourceKey {
			return resourceKey{rr.ResourceType, rr.ResourceName}
		},
		func(rr kmsg.IncrementalAlterConfigsRequestResource) error {
			return incrementalAlterResource(env, rr, r.ValidateOnly)
		})
	for i, rr := range r.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType = rr.ResourceType
		sr.ResourceName = rr.ResourceName
		sr.ErrorCode = errorCode(errs[i])
		sr.ErrorMessage = errorMessage(errs[i])
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func incrementalAlterResource(env *Env, rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	names := make([]string, 0, len(rr.Configs))
	var nulls []string
	for _, c := range rr.Configs {
		names = append(names, c.Name)
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if c.Value == nil {
				nulls = append(nulls, c.Name)
			}
		case kmsg.IncrementalAlterConfigOpDelete:
		default:
			return fmt.Errorf("%w: unknown operation %d for config %q", errInvalidRequest, c.Op, c.Name)
		}
	}
	if err := configRequestChecks(names, nulls); err != nil {
		return err
	}
	return alterDynamicConfigs(env, rr.ResourceType, rr.ResourceName, validateOnly,
		func(cur map[string]string, defs config.Set) (map[string]string, error) {
			return applyConfigOps(cur, rr.Configs, defs)
		})
}

// applyConfigOps returns a copy of cur with ops applied in order.
func applyConfigOps(cur map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, defs config.Set) (map[string]string, error) {
	next := maps.Clone(cur)
	if next == nil {
		next = map[string]string{}
	}
	for _, op := range ops {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			next[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			verb := "append"
			if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
				verb = "subtract"
			}
			d, ok := defs[op.Name]
			if !ok {
				return nil, fmt.Errorf("%w: unknown config name %q", config.ErrUnknown, op.Name)
			}
			if d.Type != config.TypeList {
				return nil, fmt.Errorf("%w: config value %s is not allowed for %s, which is not a list", config.ErrInvalid, verb, op.Name)
			}
			old, ok := next[op.Name]
			if !ok && !d.NoDefault {
				old = d.Default
			}
			list := splitConfigList(old)
			for _, v := range splitConfigList(*op.Value) {
				if verb == "append" && !slices.Contains(list, v) {
					list = append(list, v)
				} else if verb == "subtract" {
					list = slices.DeleteFunc(list, func(s string) bool { return s == v })
				}
			}
			next[op.Name] = strings.Join(list, ",")
		}
	}
	return next, nil
}

// splitConfigList splits a list config's value at commas, dropping empty
// elements ("" is the empty list).
func splitConfigList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
