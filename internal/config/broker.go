package config

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// BrokerDefs are the broker configs Strata understands, with Kafka's
// defaults. Dynamic ones can be changed at runtime with AlterConfigs /
// IncrementalAlterConfigs on the broker resource.
var BrokerDefs = newSet(append(append(append(append(append(coreDefs, groupDefs...), cleanerDefs...), controllerDefs...), raftDefs...), replicaDefs...))

var coreDefs = []Def{
	intDef("node.id", 1, 0, math.MaxInt32, "This broker's id."),
	{Name: "listeners", Type: TypeString, Default: "PLAINTEXT://127.0.0.1:9092", Check: checkListener, Doc: "Addresses to listen on: PLAINTEXT://host:port (or host:port) for clients, and CONTROLLER://host:port for the metadata quorum."},
	{Name: "advertised.listeners", Type: TypeString, NoDefault: true, Check: checkListener, Doc: "Address given to clients (PLAINTEXT://host:port), and CONTROLLER://host:port the one other quorum members dial for a non-voting broker; default: listeners."},
	{Name: "log.dirs", Type: TypeString, Default: "./data", Doc: "The data directory."},
	{Name: "broker.rack", Type: TypeString, NoDefault: true, Doc: "Rack of this broker."},
	intDef("num.partitions", 1, 1, math.MaxInt32, "Partitions of auto-created topics and CreateTopics without a count."),
	intDef("default.replication.factor", 1, 1, math.MaxInt16, "Replication factor of auto-created topics."),
	{Name: "auto.create.topics.enable", Type: TypeBoolean, Default: "true", Doc: "Create a topic when a client asks Metadata for it."},
	{Name: "delete.topic.enable", Type: TypeBoolean, Default: "true", Doc: "Allow DeleteTopics."},
	intDef("socket.request.max.bytes", 104857600, 1, math.MaxInt32, "Largest request frame accepted."),
	longDef("connections.max.idle.ms", 600000, 0, "Idle connections are closed after this, ms."),
	// Defaults of the topic configs.
	{Name: "log.retention.hours", Type: TypeInt, Default: "168", Min: -1, Max: math.MaxInt32, Dynamic: false, Doc: "Default retention, hours."},
	{Name: "log.retention.minutes", Type: TypeInt, NoDefault: true, Min: -1, Max: math.MaxInt32, Doc: "Default retention, minutes (overrides hours)."},
	{Name: "log.retention.ms", Type: TypeLong, NoDefault: true, Min: -1, Max: math.MaxInt64, Dynamic: true, Doc: "Default retention, ms (overrides minutes)."},
	{Name: "log.retention.bytes", Type: TypeLong, Default: "-1", Min: math.MinInt64, Max: math.MaxInt64, Dynamic: true, Doc: "Default size limit per partition."},
	{Name: "log.segment.bytes", Type: TypeInt, Default: "1073741824", Min: 14, Max: math.MaxInt32, Dynamic: true, Doc: "Default segment size."},
	{Name: "log.roll.hours", Type: TypeInt, Default: "168", Min: 1, Max: math.MaxInt32, Doc: "Default segment age before rolling, hours."},
	{Name: "log.roll.ms", Type: TypeLong, NoDefault: true, Min: 1, Max: math.MaxInt64, Dynamic: true, Doc: "Default segment age before rolling, ms."},
	{Name: "log.index.size.max.bytes", Type: TypeInt, Default: "10485760", Min: 4, Max: math.MaxInt32, Dynamic: true, Doc: "Default maximum offset index size."},
	{Name: "log.index.interval.bytes", Type: TypeInt, Default: "4096", Min: 0, Max: math.MaxInt32, Dynamic: true, Doc: "Default bytes between index entries."},
	{Name: "message.max.bytes", Type: TypeInt, Default: "1048588", Min: 0, Max: math.MaxInt32, Dynamic: true, Doc: "Default largest record batch."},
	{Name: "log.message.timestamp.type", Type: TypeString, Default: "CreateTime", OneOf: []string{"CreateTime", "LogAppendTime"}, Dynamic: true, Doc: "Default timestamp type."},
	{Name: "log.cleanup.policy", Type: TypeList, Default: "delete", Check: checkCleanupPolicy, Dynamic: true, Doc: "Default cleanup policy."},
	{Name: "min.insync.replicas", Type: TypeInt, Default: "1", Min: 1, Max: math.MaxInt32, Dynamic: true, Doc: "Default minimum ISR for acks=all."},
	{Name: "log.flush.interval.messages", Type: TypeLong, Default: strconv.FormatInt(math.MaxInt64, 10), Min: 1, Max: math.MaxInt64, Dynamic: true, Doc: "Default fsync interval, messages."},
	{Name: "log.flush.interval.ms", Type: TypeLong, NoDefault: true, Min: 0, Max: math.MaxInt64, Dynamic: true, Doc: "Default fsync interval, ms."},
	longDef("log.flush.scheduler.interval.ms", math.MaxInt64, 0, "Fallback for log.flush.interval.ms."),
	longDef("log.retention.check.interval.ms", 300000, 1, "How often retention runs, ms."),
	{Name: "log.segment.delete.delay.ms", Type: TypeLong, Default: "60000", Min: 0, Max: math.MaxInt64, Dynamic: true, Doc: "Delay before deleting a segment's files."},
	longDef("log.flush.offset.checkpoint.interval.ms", 60000, 0, "How often the recovery point is checkpointed, ms."),
	longDef("replica.high.watermark.checkpoint.interval.ms", 5000, 1, "How often the high watermark is checkpointed, ms."),
	{Name: "compression.type", Type: TypeString, Default: "producer", OneOf: []string{"producer"}, Doc: "Final compression; only producer."},
	{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: "false", Dynamic: true, Doc: "Allow out-of-ISR leaders."},
	longDef("producer.id.expiration.ms", 86400000, 1, "Idle producer state is dropped after this, ms."),
	longDef("producer.id.expiration.check.interval.ms", 600000, 1, "How often idle producer state is looked for, ms."),
}

// brokerAliases are other Kafka names accepted for the same setting.
var brokerAliases = map[string]string{
	"broker.id": "node.id",
	"log.dir":   "log.dirs",
}

// Broker is a broker's configuration: Kafka-named values from the
// properties file, environment and overrides. It is an immutable value.
type Broker struct {
	set map[string]string // explicitly set values (static)
}

// NewBroker validates a set of explicitly set broker configs.
func NewBroker(set map[string]string) (Broker, error) {
	b := Broker{set: make(map[string]string, len(set))}
	for k, v := range set {
		if err := b.put(k, v); err != nil {
			return Broker{}, err
		}
	}
	return b, checkCross(b)
}

// checkCross applies the rules between configs.
func checkCross(b Broker) error {
	if err := checkGroupConfigs(b); err != nil {
		return err
	}
	if err := checkControllerConfigs(b); err != nil {
		return err
	}
	return checkRaftConfigs(b)
}

func (b *Broker) put(name, v string) error {
	if alias, ok := brokerAliases[name]; ok {
		name = alias
	}
	d, ok := BrokerDefs[name]
	if !ok {
		return fmt.Errorf("%w: %q is not a broker config Strata knows", ErrUnknown, name)
	}
	v = strings.TrimSpace(v)
	if err := d.Validate(v); err != nil {
		return err
	}
	b.set[name] = v
	return nil
}

// With returns a copy of b with more explicitly set values (later sources
// override earlier ones).
func (b Broker) With(more map[string]string) (Broker, error) {
	out := Broker{set: make(map[string]string, len(b.set)+len(more))}
	for k, v := range b.set {
		out.set[k] = v
	}
	keys := make([]string, 0, len(more))
	for k := range more {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error for several bad keys
	for _, k := range keys {
		if err := out.put(k, more[k]); err != nil {
			return Broker{}, err
		}
	}
	return out, checkCross(out)
}

// Get returns a config's value and whether it is set or has a default.
func (b Broker) Get(name string) (string, bool) {
	if v, ok := b.set[name]; ok {
		return v, true
	}
	d, ok := BrokerDefs[name]
	if !ok || d.NoDefault {
		return "", false
	}
	return d.Default, true
}

// IsSet reports whether the config was set explicitly.
func (b Broker) IsSet(name string) bool {
	_, ok := b.set[name]
	return ok
}

// Str returns a config's value, "" if null.
func (b Broker) Str(name string) string {
	v, _ := b.Get(name)
	return v
}

// Int returns a numeric config's value (0 if null).
func (b Broker) Int(name string) int64 { return parseInt64(b.Str(name)) }

// Bool returns a boolean config's value.
func (b Broker) Bool(name string) bool { return b.Str(name) == "true" }

// NodeID is node.id.
func (b Broker) NodeID() int32 { return int32(b.Int("node.id")) }

// ListenAddr is the host:port of the client listener in listeners.
func (b Broker) ListenAddr() string { return clientListener(b.Str("listeners")) }

// AdvertisedAddr is the host:port clients are told, advertised.listeners
// or else the listen address.
func (b Broker) AdvertisedAddr() string {
	if v, ok := b.Get("advertised.listeners"); ok && v != "" {
		return clientListener(v)
	}
	return b.ListenAddr()
}

// DataDir is log.dirs (one directory).
func (b Broker) DataDir() string { return b.Str("log.dirs") }

// RetentionMs is the effective default retention.ms: log.retention.ms,
// else minutes, else hours, as Kafka resolves them.
func (b Broker) RetentionMs() int64 {
	if v, ok := b.Get("log.retention.ms"); ok {
		return parseInt64(v)
	}
	if v, ok := b.Get("log.retention.minutes"); ok {
		return minutesOrForever(parseInt64(v), 60000)
	}
	return minutesOrForever(b.Int("log.retention.hours"), 3600000)
}

func minutesOrForever(n, unit int64) int64 {
	if n < 0 {
		return -1
	}
	return n * unit
}

// RollMs is the effective default segment.ms.
func (b Broker) RollMs() int64 {
	if v, ok := b.Get("log.roll.ms"); ok {
		return parseInt64(v)
	}
	return b.Int("log.roll.hours") * 3600000
}

// FlushMs is the effective default flush.ms.
func (b Broker) FlushMs() int64 {
	if v, ok := b.Get("log.flush.interval.ms"); ok {
		return parseInt64(v)
	}
	return b.Int("log.flush.scheduler.interval.ms")
}

// TopicDefault is the broker-supplied default of a topic config.
func (b Broker) TopicDefault(name string) string {
	switch name {
	case RetentionMs:
		return strconv.FormatInt(b.RetentionMs(), 10)
	case SegmentMs:
		return strconv.FormatInt(b.RollMs(), 10)
	case FlushMs:
		return strconv.FormatInt(b.FlushMs(), 10)
	}
	if syn, ok := TopicSynonyms[name]; ok {
		if v, ok := b.Get(syn); ok {
			return v
		}
	}
	if d, ok := TopicDefs[name]; ok {
		return d.Default
	}
	return ""
}

// Topic lays a topic's overrides over the broker defaults.
func (b Broker) Topic(overrides map[string]string) TopicConfig {
	t := TopicConfig{values: make(map[string]string, len(TopicDefs)), overrides: overrides}
	for name := range TopicDefs {
		t.values[name] = b.TopicDefault(name)
	}
	for k, v := range overrides {
		t.values[k] = v
	}
	return t
}

// Names lists all broker config names, sorted.
func (b Broker) Names() []string {
	out := make([]string, 0, len(BrokerDefs))
	for n := range BrokerDefs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseProperties reads a Kafka-style .properties file: key=value (or
// key: value) lines, '#' and '!' comments, blank lines ignored.
func ParseProperties(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("line %d: want key=value, got %q", n, line)
		}
		out[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return out, sc.Err()
}

// LoadPropertiesFile parses the properties file at path.
func LoadPropertiesFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// EnvPrefix prefixes environment variables that set broker configs.
const EnvPrefix = "STRATA_"

// FromEnv picks the broker configs out of environ ("K=V" strings):
// STRATA_LOG_RETENTION_HOURS sets log.retention.hours. As in the common
// Kafka container convention, "_" becomes ".", "__" becomes "_" and "___"
// becomes "-". Variables that name no broker config are ignored: the CLI
// reads its own STRATA_ variables (e.g. STRATA_BOOTSTRAP_SERVER).
func FromEnv(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvPrefix) {
			continue
		}
		i := strings.IndexByte(kv, '=')
		if i < 0 {
			continue
		}
		name := envToName(kv[len(EnvPrefix):i])
		if alias, ok := brokerAliases[name]; ok {
			name = alias
		}
		if _, ok := BrokerDefs[name]; ok {
			out[name] = kv[i+1:]
		}
	}
	return out
}

func envToName(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "___", "\x00")
	s = strings.ReplaceAll(s, "__", "\x01")
	s = strings.ReplaceAll(s, "_", ".")
	s = strings.ReplaceAll(s, "\x01", "_")
	return strings.ReplaceAll(s, "\x00", "-")
}
