package main

// partition.go is `strata partition …`: moving replicas
// (kafka-reassign-partitions.sh, partition_reassign.go) and electing
// leaders (kafka-leader-election.sh, below), over the Kafka admin APIs
// AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders
// through kadm.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newPartitionCmd() *cobra.Command {
	cf := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "partition",
		Short: "Reassign partition replicas and elect partition leaders",
	}
	cf.register(cmd.PersistentFlags())
	cmd.AddCommand(newPartitionReassignCmd(cf), newPartitionElectCmd(cf))
	return cmd
}

// parseBrokerList reads "2,3,1" (a replica list, order kept: the first
// is the preferred leader). Duplicates are refused, as Kafka does.
func parseBrokerList(flag, s string) ([]int32, error) {
	var out []int32
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		id, err := strconv.ParseInt(part, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%s %q: want comma-separated broker ids, e.g. 2,3,1", flag, s)
		}
		if slices.Contains(out, int32(id)) {
			return nil, fmt.Errorf("%s %q: broker %d is named twice", flag, s, id)
		}
		out = append(out, int32(id))
	}
	return out, nil
}

// partitionName is Kafka's "topic-partition" spelling.
func partitionName(topic string, p int32) string {
	return topic + "-" + strconv.Itoa(int(p))
}

// electJSON is kafka-leader-election.sh's --path-to-json-file format.
type electJSON struct {
	Partitions []struct {
		Topic     string `json:"topic"`
		Partition *int32 `json:"partition"`
	} `json:"partitions"`
}

func newPartitionElectCmd(cf *clientFlags) *cobra.Command {
	var (
		electionType string
		topic        string
		partition    int32
		jsonFile     string
		all          bool
	)
	cmd := &cobra.Command{
		Use:   "elect-leaders [--type preferred|unclean] [--topic T [--partition P] | --path-to-json-file F | --all-topic-partitions]",
		Short: "Elect partition leaders: the preferred replica, or (unclean) any live replica",
		Long: `Elect leaders (ElectLeaders, KIP-183/460), like kafka-leader-election.sh.

--type preferred (the default) moves each partition's leadership to its
preferred replica (the first in its replica list) if that replica is alive
and in the ISR; partitions it already leads are reported as not needing an
election. --type unclean elects any live replica for partitions that have
no leader because no ISR member is alive; it can lose acknowledged records
and is for disasters only.

Which partitions: --topic T (all of its partitions) or --topic T
--partition P, a JSON file ({"partitions":[{"topic":"t","partition":0}]},
Kafka's format), or every partition (--all-topic-partitions, the default
when nothing else is given). The command fails if any election failed.`,
		Example: `  strata partition elect-leaders --topic orders
  strata partition elect-leaders --topic orders --partition 3
  strata partition elect-leaders --all-topic-partitions
  strata partition elect-leaders --type unclean --topic orders --partition 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var how kadm.ElectLeadersHow
			var label string
			switch strings.ToLower(electionType) {
			case "preferred":
				how, label = kadm.ElectPreferredReplica, "PREFERRED"
			case "unclean":
				how, label = kadm.ElectLiveReplica, "UNCLEAN"
			default:
				return fmt.Errorf("--type %q: want preferred or unclean", electionType)
			}
			partSet := cmd.Flags().Changed("partition")
			given := 0
			for _, b := range []bool{topic != "", jsonFile != "", all} {
				if b {
					given++
				}
			}
			switch {
			case given > 1:
				return errors.New("give only one of --topic, --path-to-json-file and --all-topic-partitions")
			case partSet && topic == "":
				return errors.New("--partition needs --topic")
			case partSet && partition < 0:
				return fmt.Errorf("--partition %d: want 0 or more", partition)
			}
			var set kadm.TopicsSet // nil: every partition
			switch {
			case topic != "":
				if err := validateTopicName(topic); err != nil {
					return err
				}
				set = make(kadm.TopicsSet)
				if partSet {
					set.Add(topic, partition)
				} else {
					set.Add(topic)
				}
			case jsonFile != "":
				var err error
				if set, err = readElectJSON(jsonFile); err != nil {
					return err
				}
			}
			return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				if set != nil {
					// kadm sends a topic with no partitions as "none";
					// fill in every partition of a topic named alone.
					if err := fillPartitions(ctx, adm, set); err != nil {
						return err
					}
				}
				rs, err := adm.ElectLeaders(ctx, how, set)
				if err != nil {
					return err
				}
				return writeElectResults(cmd, label, rs)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&electionType, "type", "preferred", "election type: preferred or unclean")
	f.StringVar(&topic, "topic", "", "topic whose partitions to elect leaders for")
	f.Int32Var(&partition, "partition", 0, "only this partition of --topic")
	f.StringVar(&jsonFile, "path-to-json-file", "", `JSON file naming the partitions: {"partitions":[{"topic":"t","partition":0}]}`)
	f.BoolVar(&all, "all-topic-partitions", false, "every partition of every topic (the default)")
	return cmd
}

func readElectJSON(path string) (kadm.TopicsSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc electJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Partitions) == 0 {
		return nil, fmt.Errorf("%s: no partitions listed", path)
	}
	set := make(kadm.TopicsSet)
	for i, p := range doc.Partitions {
		if err := validateTopicName(p.Topic); err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", path, i, err)
		}
		if p.Partition == nil || *p.Partition < 0 {
			return nil, fmt.Errorf("%s: entry %d: want a partition number", path, i)
		}
		set.Add(p.Topic, *p.Partition)
	}
	return set, nil
}

// fillPartitions replaces each topic of set that names no partition with
// all of its partitions, and fails plainly for a topic that does not
// exist.
func fillPartitions(ctx context.Context, adm *kadm.Client, set kadm.TopicsSet) error {
	md, err := adm.Metadata(ctx, set.Topics()...)
	if err != nil {
		return err
	}
	for t, ps := range set {
		td, ok := md.Topics[t]
		if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("topic %q does not exist", t)
		}
		if len(ps) == 0 {
			for p := range td.Partitions {
				set.Add(t, p)
			}
		}
		for p := range set[t] {
			if _, ok := td.Partitions[p]; !ok {
				return fmt.Errorf("topic %q has no partition %d (it has %d)", t, p, len(td.Partitions))
			}
		}
	}
	return nil
}

// writeElectResults prints kafka-leader-election.sh's summary lines and
// fails if any partition's election failed (ELECTION_NOT_NEEDED is not a
// failure).
func writeElectResults(cmd *cobra.Command, label string, rs kadm.ElectLeadersResults) error {
	var done, notNeeded []string
	var failed []string
	var topics []string
	for t := range rs {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		var ps []int32
		for p := range rs[t] {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			r := rs[t][p]
			name := partitionName(t, p)
			switch {
			case r.Err == nil:
				done = append(done, name)
			case errors.Is(r.Err, kerr.ElectionNotNeeded):
				notNeeded = append(notNeeded, name)
			default:
				failed = append(failed, fmt.Sprintf("%s: %s", name, kafkaErr(r.Err, r.ErrMessage)))
			}
		}
	}
	out := cmd.OutOrStdout()
	if len(done) > 0 {
		fmt.Fprintf(out, "Successfully completed leader election (%s) for partitions %s\n", label, strings.Join(done, ", "))
	}
	if len(notNeeded) > 0 {
		fmt.Fprintf(out, "Valid replica already elected for partitions %s\n", strings.Join(notNeeded, ", "))
	}
	if len(done)+len(notNeeded)+len(failed) == 0 {
		fmt.Fprintln(out, "No partitions to elect leaders for.")
	}
	if len(failed) > 0 {
		fmt.Fprintf(out, "Error completing leader election (%s) for partitions:\n", label)
		for _, f := range failed {
			fmt.Fprintf(out, "  %s\n", f)
		}
		return fmt.Errorf("leader election failed for %d partitions", len(failed))
	}
	return nil
}
