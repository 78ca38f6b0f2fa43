package main

// topic.go is `strata topic …`: the kafka-topics.sh / kafka-configs.sh
// subset that an operator of a single cluster needs, over the Kafka admin
// APIs (CreateTopics, Metadata, ListOffsets, DescribeConfigs, DeleteTopics,
// IncrementalAlterConfigs, CreatePartitions) through kadm.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newTopicCmd() *cobra.Command {
	cf := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Create, list, describe, alter and delete topics (any Kafka cluster)",
	}
	cf.register(cmd.PersistentFlags())
	cmd.AddCommand(
		newTopicCreateCmd(cf),
		newTopicListCmd(cf),
		newTopicDescribeCmd(cf),
		newTopicDeleteCmd(cf),
		newTopicAlterConfigCmd(cf),
		newTopicAddPartitionsCmd(cf),
	)
	return cmd
}

// withAdmin runs fn with an admin client and a context bounded by
// --request-timeout, and turns failures to reach the cluster into plain
// messages.
func withAdmin(ctx context.Context, cf *clientFlags, fn func(context.Context, *kadm.Client) error) error {
	if err := cf.validate(); err != nil {
		return err
	}
	adm, err := cf.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := cf.callCtx(ctx)
	defer cancel()
	return cf.clusterErr(fn(ctx, adm))
}

// topicErr turns a per-topic Kafka error into a message naming the topic.
func topicErr(verb, topic string, err error, brokerMsg string) error {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return fmt.Errorf("topic %q does not exist", topic)
	case errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("topic %q already exists", topic)
	}
	return fmt.Errorf("%s topic %q: %s", verb, topic, kafkaErr(err, brokerMsg))
}

// validateTopicName applies Kafka's topic name rules (legal characters
// [a-zA-Z0-9._-], at most 249 of them, not "." or "..") so a bad name is
// caught without a round trip.
func validateTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is %d characters long; the limit is 249", len(name))
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("topic name %q contains %q; only ASCII letters, digits, '.', '_' and '-' are allowed", name, c)
		}
	}
	return nil
}

// oneTopic resolves a topic given either as the only argument or as
// --topic (kafka-topics.sh's spelling), but not both.
func oneTopic(args []string, flag string) (string, error) {
	switch {
	case len(args) == 1 && flag != "" && args[0] != flag:
		return "", fmt.Errorf("topic given twice: %q and --topic %q", args[0], flag)
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", errors.New("no topic given (NAME or --topic NAME)")
}

func newTopicCreateCmd(cf *clientFlags) *cobra.Command {
	var (
		topicFlag    string
		partitions   int32
		rf           int16
		configs      []string
		ifNotExists  bool
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME | --topic NAME",
		Short: "Create a topic",
		Long: `Create a topic (CreateTopics). --partitions and --replication-factor
default to -1, which asks the broker for its num.partitions and
default.replication.factor.`,
		Example: `  strata topic create orders --partitions 6 --replication-factor 3 --config retention.ms=86400000`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneTopic(args, topicFlag)
			if err != nil {
				return err
			}
			if err := validateTopicName(name); err != nil {
				return err
			}
			if partitions == 0 || partitions < -1 {
				return fmt.Errorf("--partitions %d: want a positive count (or -1 for the broker default)", partitions)
			}
			if rf == 0 || rf < -1 {
				return fmt.Errorf("--replication-factor %d: want a positive count (or -1 for the broker default)", rf)
			}
			cfgs, err := parseConfigs(configs)
			if err != nil {
				return err
			}
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				create := adm.CreateTopics
				if validateOnly {
					create = adm.ValidateCreateTopics
				}
				rs, err := create(ctx, partitions, rf, cfgs, name)
				if err != nil {
					return err
				}
				r, ok := rs[name]
				if !ok {
					return fmt.Errorf("create topic %q: the broker's answer did not mention the topic", name)
				}
				if errors.Is(r.Err, kerr.TopicAlreadyExists) && ifNotExists {
					return nil
				}
				if r.Err != nil {
					return topicErr("create", name, r.Err, r.ErrMessage)
				}
				if validateOnly {
					fmt.Fprintf(cmd.OutOrStdout(), "Topic %s can be created (validate only; nothing was changed).\n", name)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "Created topic %s.\n", name)
				}
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&topicFlag, "topic", "", "topic to create (instead of NAME)")
	fs.Int32Var(&partitions, "partitions", -1, "number of partitions (-1: broker default)")
	fs.Int16Var(&rf, "replication-factor", -1, "replicas per partition (-1: broker default)")
	fs.StringArrayVar(&configs, "config", nil, "topic config override key=value (repeatable)")
	fs.BoolVar(&ifNotExists, "if-not-exists", false, "succeed if the topic already exists")
	fs.BoolVar(&validateOnly, "validate-only", false, "ask the broker to check the request without creating the topic")
	return cmd
}

func newTopicListCmd(cf *clientFlags) *cobra.Command {
	var internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topic names, one per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				list := adm.ListTopics
				if internal {
					list = adm.ListTopicsWithInternal
				}
				tds, err := list(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, name := range tds.Names() {
					fmt.Fprintln(out, name)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics such as __consumer_offsets")
	return cmd
}

func newTopicDescribeCmd(cf *clientFlags) *cobra.Command {
	var (
		topicFlags      []string
		internal        bool
		allConfigs      bool
		underReplicated bool
		unavailable     bool
	)
	cmd := &cobra.Command{
		Use:   "describe [NAME...]",
		Short: "Show partitions, leaders, replicas, ISR, offsets and configs of topics",
		Long: `Describe topics: one line per topic (id, partition count, replication
factor, configs) and one per partition: its leader ("none" if it has none),
replicas (the first is the preferred leader), ISR (the replicas in sync),
the replicas a reassignment in progress is adding and removing, the
offline replicas (on brokers that are down), and its log start offset and
high watermark (from ListOffsets earliest/latest).

Configs lists what is not at its built-in default (Kafka's rule: topic
overrides and broker-level settings); --all-configs lists every config. With no NAME, every topic is described.

--under-replicated-partitions and --unavailable-partitions print only the
partitions with fewer replicas in sync than assigned, or without a live
leader (and no topic lines), as kafka-topics.sh does.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names := append(slices.Clone(args), topicFlags...)
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				views, err := describeTopics(ctx, adm, names, internal, allConfigs)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, v := range views {
					if !underReplicated && !unavailable {
						writeTopicDescription(out, v)
						continue
					}
					for _, p := range v.partitions {
						if underReplicated && p.underReplicated() || unavailable && p.unavailable() {
							writePartitionLine(out, v.name, p)
						}
					}
				}
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&topicFlags, "topic", nil, "topic to describe (repeatable; same as NAME)")
	fs.BoolVar(&internal, "internal", false, "with no NAME, include internal topics")
	fs.BoolVar(&allConfigs, "all-configs", false, "list every config, not only those changed from the built-in defaults")
	fs.BoolVar(&underReplicated, "under-replicated-partitions", false, "print only partitions whose ISR is smaller than their replica set")
	fs.BoolVar(&unavailable, "unavailable-partitions", false, "print only partitions without a live leader")
	return cmd
}

// describeTopics gathers what `topic describe` prints. A named topic that
// does not exist fails the whole command before anything is printed.
func describeTopics(ctx context.Context, adm *kadm.Client, names []string, internal, allConfigs bool) ([]topicView, error) {
	md, err := adm.Metadata(ctx, names...)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		td, ok := md.Topics[n]
		if !ok {
			return nil, fmt.Errorf("topic %q does not exist", n)
		}
		if errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return nil, topicErr("describe", n, td.Err, "")
		}
	}
	if len(names) == 0 && !internal {
		md.Topics.FilterInternal()
	}
	topics := md.Topics.Names()
	if len(topics) == 0 {
		return nil, nil
	}

	// Offsets and configs are best effort: a partition without a leader
	// or a broker without DescribeConfigs still leaves the rest worth
	// printing, so their errors are shown in place.
	starts, startErr := adm.ListStartOffsets(ctx, topics...)
	ends, endErr := adm.ListEndOffsets(ctx, topics...)
	cfgs, cfgErr := adm.DescribeTopicConfigs(ctx, topics...)
	// Reassignments in progress are best effort too: a broker without
	// ListPartitionReassignments has none to show.
	reassigning, _ := adm.ListPartitionReassignments(ctx, md.Topics.TopicsSet())

	views := make([]topicView, 0, len(topics))
	for _, name := range topics {
		td := md.Topics[name]
		v := topicView{name: name, id: td.ID, err: td.Err}
		for _, pd := range td.Partitions.Sorted() {
			pv := partitionView{detail: pd, start: -1, end: -1}
			if r, ok := reassigning[name][pd.Partition]; ok {
				pv.adding, pv.removing = r.AddingReplicas, r.RemovingReplicas
			}
			pv.start, pv.offErr = lookupOffset(starts, startErr, name, pd.Partition)
			if pv.offErr == nil {
				pv.end, pv.offErr = lookupOffset(ends, endErr, name, pd.Partition)
			}
			v.partitions = append(v.partitions, pv)
		}
		v.configs, v.configErr = topicConfigs(cfgs, cfgErr, name, allConfigs)
		views = append(views, v)
	}
	return views, nil
}

func lookupOffset(lo kadm.ListedOffsets, err error, topic string, p int32) (int64, error) {
	if o, ok := lo.Lookup(topic, p); ok {
		if o.Err != nil {
			return -1, o.Err
		}
		return o.Offset, nil
	}
	if err == nil {
		err = errors.New("not listed")
	}
	return -1, err
}

// topicConfigs picks the configs describe prints: with all, every config;
// otherwise the ones whose source is not the built-in default, as
// kafka-topics.sh --describe does.
func topicConfigs(rcs kadm.ResourceConfigs, err error, topic string, all bool) ([]kadm.Config, error) {
	for _, rc := range rcs {
		if rc.Name != topic {
			continue
		}
		if rc.Err != nil {
			return nil, errors.New(kafkaErr(rc.Err, rc.ErrMessage))
		}
		var out []kadm.Config
		for _, c := range rc.Configs {
			if all || c.Source != kmsg.ConfigSourceDefaultConfig {
				out = append(out, c)
			}
		}
		slices.SortFunc(out, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
		return out, nil
	}
	if err == nil {
		err = errors.New("not returned by the broker")
	}
	return nil, err
}

func newTopicDeleteCmd(cf *clientFlags) *cobra.Command {
	var (
		topicFlags []string
		ifExists   bool
	)
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete topics",
		RunE: func(cmd *cobra.Command, args []string) error {
			names := append(slices.Clone(args), topicFlags...)
			if len(names) == 0 {
				return errors.New("no topic given (NAME... or --topic NAME)")
			}
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				rs, err := adm.DeleteTopics(ctx, names...)
				if err != nil {
					return err
				}
				var errs []error
				for _, name := range names {
					r, ok := rs[name]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("delete topic %q: the broker's answer did not mention the topic", name))
					case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && ifExists:
					case r.Err != nil:
						errs = append(errs, topicErr("delete", name, r.Err, r.ErrMessage))
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted topic %s.\n", name)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringArrayVar(&topicFlags, "topic", nil, "topic to delete (repeatable; same as NAME)")
	cmd.Flags().BoolVar(&ifExists, "if-exists", false, "succeed for topics that do not exist")
	return cmd
}

func newTopicAlterConfigCmd(cf *clientFlags) *cobra.Command {
	var (
		topicFlag    string
		set          []string
		del          []string
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "alter-config NAME --config k=v... --delete-config k...",
		Short: "Set or remove topic config overrides (IncrementalAlterConfigs)",
		Long: `Set (--config k=v) or remove (--delete-config k, back to the broker's
default) topic config overrides. Configs not named are left as they are.`,
		Example: `  strata topic alter-config orders --config retention.ms=3600000 --delete-config cleanup.policy`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneTopic(args, topicFlag)
			if err != nil {
				return err
			}
			alters, err := alterOps(set, del)
			if err != nil {
				return err
			}
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				alter := adm.AlterTopicConfigs
				if validateOnly {
					alter = adm.ValidateAlterTopicConfigs
				}
				rs, err := alter(ctx, alters, name)
				if err != nil {
					return err
				}
				for _, r := range rs {
					if r.Err != nil {
						return topicErr("alter config of", name, r.Err, r.ErrMessage)
					}
				}
				if validateOnly {
					fmt.Fprintf(cmd.OutOrStdout(), "Config of topic %s can be updated (validate only; nothing was changed).\n", name)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "Updated config of topic %s.\n", name)
				}
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&topicFlag, "topic", "", "topic to alter (instead of NAME)")
	fs.StringArrayVar(&set, "config", nil, "config to set, key=value (repeatable)")
	fs.StringArrayVar(&del, "delete-config", nil, "config override to remove (repeatable or comma-separated)")
	fs.BoolVar(&validateOnly, "validate-only", false, "ask the broker to check the change without applying it")
	return cmd
}

// alterOps builds the incremental operations for alter-config; it refuses
// an empty change and a key that is both set and deleted.
func alterOps(set, del []string) ([]kadm.AlterConfig, error) {
	cfgs, err := parseConfigs(set)
	if err != nil {
		return nil, err
	}
	names, err := parseConfigNames(del)
	if err != nil {
		return nil, err
	}
	if len(cfgs) == 0 && len(names) == 0 {
		return nil, errors.New("nothing to change: give --config k=v and/or --delete-config k")
	}
	keys := make([]string, 0, len(cfgs))
	for k := range cfgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ops []kadm.AlterConfig
	for _, k := range keys {
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: cfgs[k]})
	}
	seen := map[string]bool{}
	for _, n := range names {
		if _, ok := cfgs[n]; ok {
			return nil, fmt.Errorf("config %s is both set and deleted", n)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: n})
	}
	return ops, nil
}

func newTopicAddPartitionsCmd(cf *clientFlags) *cobra.Command {
	var (
		topicFlag    string
		partitions   int
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "add-partitions NAME --partitions N",
		Short: "Raise a topic's partition count to N (CreatePartitions)",
		Long: `Raise a topic's partition count to N, like kafka-topics.sh --alter
--partitions N. N is the new total, not the number to add; partitions can
never be removed. Keyed records may map to different partitions afterwards.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneTopic(args, topicFlag)
			if err != nil {
				return err
			}
			if partitions < 1 {
				return errors.New("--partitions N (the new total, at least 1) is required")
			}
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				update := adm.UpdatePartitions
				if validateOnly {
					update = adm.ValidateUpdatePartitions
				}
				rs, err := update(ctx, partitions, name)
				if err != nil {
					return err
				}
				r, ok := rs[name]
				if !ok {
					return fmt.Errorf("add partitions to topic %q: the broker's answer did not mention the topic", name)
				}
				if r.Err != nil {
					return topicErr("add partitions to", name, r.Err, r.ErrMessage)
				}
				if validateOnly {
					fmt.Fprintf(cmd.OutOrStdout(), "Topic %s can have %d partitions (validate only; nothing was changed).\n", name, partitions)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "Topic %s now has %d partitions.\n", name, partitions)
				}
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&topicFlag, "topic", "", "topic to alter (instead of NAME)")
	fs.IntVar(&partitions, "partitions", 0, "new total partition count")
	fs.BoolVar(&validateOnly, "validate-only", false, "ask the broker to check the change without applying it")
	return cmd
}
