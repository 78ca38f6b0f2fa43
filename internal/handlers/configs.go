package handlers

// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
// naming a config resource (a topic; for BROKER, "" = the cluster-wide
// dynamic default or this broker's node id), working out where each value
// comes from (its synonyms, most specific first, as Kafka reports them),
// and checking and writing a resource's new dynamic config set.
//
// A resource's dynamic set is always written whole, as one metadata record
// (TypeTopicConfig / TypeBrokerConfig) made inside Store.Update, so two
// concurrent alters of one resource cannot lose each other's keys halfway.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// errInvalidRequest is a well-formed request asking for something Kafka
// refuses with INVALID_REQUEST: a resource twice in one request, a config
// key twice in one resource, a null value, another broker's id, a resource
// type we do not serve, or a bad dynamic broker config.
var errInvalidRequest = errors.New("invalid request")

// configSynonym is one place a config's value can come from.
type configSynonym struct {
	name   string
	value  string
	source kmsg.ConfigSource
}

// brokerFallbacks lists, for the broker configs that have them, the coarser
// configs consulted when the config itself is unset, in order (Kafka's
// resolution: log.retention.ms, then .minutes, then .hours).
var brokerFallbacks = map[string][]string{
	"log.retention.ms":      {"log.retention.minutes", "log.retention.hours"},
	"log.retention.minutes": {"log.retention.hours"},
	"log.roll.ms":           {"log.roll.hours"},
	"log.flush.interval.ms": {"log.flush.scheduler.interval.ms"},
}

// brokerSynonyms lists where broker config name gets its value, most
// specific first: this broker's dynamic value, the dynamic cluster default,
// the static value, the built-in default; then the same for each config it
// falls back to. With perBroker false (the "" resource) only the dynamic
// cluster defaults are listed, as Kafka does.
//
// NB: env.Config() is the static config with the dynamic values laid over
// it, so a static value hidden by a dynamic one cannot be seen here; it is
// left out of the list rather than reported with the wrong value.
func brokerSynonyms(env *Env, img *metadata.Image, name string, perBroker bool) []configSynonym {
	node := img.BrokerConfigs[strconv.Itoa(int(env.NodeID))]
	cluster := img.BrokerConfigs[""]
	eff := env.Config()
	var out []configSynonym
	for _, n := range append([]string{name}, brokerFallbacks[name]...) {
		nv, inNode := node[n]
		cv, inCluster := cluster[n]
		if perBroker && inNode {
			out = append(out, configSynonym{n, nv, kmsg.ConfigSourceDynamicBrokerConfig})
		}
		if inCluster {
			out = append(out, configSynonym{n, cv, kmsg.ConfigSourceDynamicDefaultBrokerConfig})
		}
		if !perBroker {
			continue
		}
		if !inNode && !inCluster && eff.IsSet(n) {
			out = append(out, configSynonym{n, eff.Str(n), kmsg.ConfigSourceStaticBrokerConfig})
		}
		if d, ok := config.BrokerDefs[n]; ok && !d.NoDefault {
			out = append(out, configSynonym{n, d.Default, kmsg.ConfigSourceDefaultConfig})
		}
	}
	return out
}

// topicSynonyms lists where a topic config gets its value: the topic's
// own override, then the broker config that supplies the default.
func topicSynonyms(env *Env, img *metadata.Image, t *metadata.Topic, name string) []configSynonym {
	var out []configSynonym
	if v, ok := t.Configs[name]; ok {
		out = append(out, configSynonym{name, v, kmsg.ConfigSourceDynamicTopicConfig})
	}
	if syn, ok := config.TopicSynonyms[name]; ok {
		out = append(out, brokerSynonyms(env, img, syn, true)...)
	} else if d := config.TopicDefs[name]; d != nil && !d.NoDefault {
		out = append(out, configSynonym{name, d.Default, kmsg.ConfigSourceDefaultConfig})
	}
	return out
}

// describedConfig builds one DescribeConfigs entry. value is nil for a
// config that is unset and has no default. The source is that of the most
// specific synonym, as in Kafka; synonyms are listed only when asked for.
func describedConfig(r *kmsg.DescribeConfigsRequest, def *config.Def, value *string, syns []configSynonym, readOnly bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = def.Name
	c.ReadOnly = readOnly
	c.IsSensitive = def.Type == config.TypePassword
	if !c.IsSensitive {
		c.Value = value
	}
	c.Source = kmsg.ConfigSourceDefaultConfig
	if len(syns) > 0 {
		c.Source = syns[0].source
	}
	c.IsDefault = c.Source == kmsg.ConfigSourceDefaultConfig // v0's only notion of source
	if r.IncludeSynonyms {
		for _, s := range syns {
			cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			cs.Name = s.name
			if !c.IsSensitive {
				v := s.value
				cs.Value = &v
			}
			cs.Source = s.source
			c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
		}
	}
	c.ConfigType = kmsg.ConfigType(def.Type)
	if r.IncludeDocumentation {
		doc := def.Doc
		c.Documentation = &doc
	}
	return c
}

// checkTopicResource checks a TOPIC resource name, as Kafka's controller
// does before looking the topic up.
func checkTopicResource(name string) error {
	if name == "" {
		return fmt.Errorf("%w: default topic resources are not allowed", errInvalidRequest)
	}
	return metadata.ValidateTopicName(name)
}

// brokerResourceKey checks a BROKER resource name and returns the key of
// its dynamic configs in the image: "" for the cluster-wide default, else
// this broker's id. Kafka answers a describe or alter of another broker's
// configs only on that broker.
func brokerResourceKey(env *Env, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return "", fmt.Errorf("%w: broker id must be an integer, got %q", errInvalidRequest, name)
	}
	if int32(id) != env.NodeID {
		return "", fmt.Errorf("%w: unexpected broker id %s; this is broker %d (use \"\" for the cluster-wide default)", errInvalidRequest, name, env.NodeID)
	}
	return strconv.Itoa(int(env.NodeID)), nil
}

// configRequestChecks are the checks Kafka makes on an alter request's
// resource before looking at the resource itself.
func configRequestChecks(names []string, nullValues []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return fmt.Errorf("%w: config %q appears more than once", errInvalidRequest, n)
		}
		seen[n] = true
	}
	if len(nullValues) > 0 {
		return fmt.Errorf("%w: null value not supported for: %s", errInvalidRequest, strings.Join(nullValues, ", "))
	}
	return nil
}

// resourceKey names a config resource for duplicate detection.
type resourceKey struct {
	typ  kmsg.ConfigResourceType
	name string
}

var errDuplicateResource = fmt.Errorf("%w: each resource must appear at most once", errInvalidRequest)

// alterEach runs alter on every resource of an alter request and returns
// the outcome of each, in request order. A resource named more than once
// is refused (every occurrence) without running alter, as Kafka does.
func alterEach[R any](resources []R, key func(R) resourceKey, alter func(R) error) []error {
	count := make(map[resourceKey]int, len(resources))
	for _, r := range resources {
		count[key(r)]++
	}
	errs := make([]error, len(resources))
	for i, r := range resources {
		if count[key(r)] > 1 {
			errs[i] = errDuplicateResource
			continue
		}
		errs[i] = alter(r)
	}
	return errs
}

// changeFunc computes a resource's new dynamic config set from the current
// one (which it must not modify); defs are the resource type's configs.
type changeFunc func(cur map[string]string, defs config.Set) (map[string]string, error)

// alterDynamicConfigs validates the dynamic config set that change makes
// of resource typ/name and, unless validateOnly, writes it as one record.
func alterDynamicConfigs(env *Env, typ kmsg.ConfigResourceType, name string, validateOnly bool, change changeFunc) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if err := checkTopicResource(name); err != nil {
			return err
		}
		return env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
			t := img.Topic(name)
			if t == nil {
				return nil, fmt.Errorf("%w: topic %q does not exist", metadata.ErrUnknownTopic, name)
			}
			next, err := change(t.Configs, config.TopicDefs)
			if err != nil {
				return nil, err
			}
			if err := validateTopicOverrides(next); err != nil {
				return nil, err
			}
			if validateOnly || maps.Equal(next, t.Configs) {
				return nil, nil
			}
			env.Logger.Info("altered topic configs", "topic", name, "configs", next)
			return []metadata.Record{{Type: metadata.TypeTopicConfig, TopicID: t.ID, Configs: next}}, nil
		})
	case kmsg.ConfigResourceTypeBroker:
		key, err := brokerResourceKey(env, name)
		if err != nil {
			return err
		}
		return env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
			cur := img.BrokerConfigs[key]
			next, err := change(cur, config.BrokerDefs)
			if err != nil {
				return nil, err
			}
			if err := validateBrokerDynamic(next); err != nil {
				return nil, err
			}
			if validateOnly || maps.Equal(next, cur) {
				return nil, nil
			}
			env.Logger.Info("altered broker configs", "resource", key, "configs", next)
			return []metadata.Record{{Type: metadata.TypeBrokerConfig, Resource: key, Configs: next}}, nil
		})
	default:
		return fmt.Errorf("%w: unsupported resource type %d", errInvalidRequest, typ)
	}
}

// validateTopicOverrides checks a topic's whole new override set, in name
// order so that the error for several bad entries names the same one
// every time.
func validateTopicOverrides(cfgs map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(cfgs)) {
		if err := config.ValidateTopicConfigs(map[string]string{k: cfgs[k]}); err != nil {
			return err
		}
	}
	return nil
}

// validateBrokerDynamic checks a broker resource's whole new dynamic set:
// every config known, dynamic, and valid. As in Kafka (KAFKA-13609), a bad
// dynamic broker config is INVALID_REQUEST, not INVALID_CONFIG.
func validateBrokerDynamic(cfgs map[string]string) error {
	names := slices.Sorted(maps.Keys(cfgs))
	var static []string
	for _, k := range names {
		d, ok := config.BrokerDefs[k]
		if !ok {
			return fmt.Errorf("%w: %q is not a broker config Strata knows", errInvalidRequest, k)
		}
		if !d.Dynamic {
			static = append(static, k)
		}
	}
	if len(static) > 0 {
		return fmt.Errorf("%w: cannot update these configs dynamically: %s", errInvalidRequest, strings.Join(static, ", "))
	}
	for _, k := range names {
		if err := config.BrokerDefs[k].Validate(cfgs[k]); err != nil {
			// NB: %v, not %w: the error also wraps config.ErrInvalid,
			// which would map to INVALID_CONFIG.
			return fmt.Errorf("%w: %v", errInvalidRequest, err)
		}
	}
	return nil
}
