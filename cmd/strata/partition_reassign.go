package main

// partition_reassign.go is `strata partition reassign`, modelled on
// kafka-reassign-partitions.sh: start moving partitions to new replica
// sets (--execute, the default), check on them (--verify, --list) or
// cancel them (--cancel), from flags or from a JSON plan in Kafka's
// format. The cluster adds the new replicas, waits until they have caught
// up and joined the ISR, and only then drops the old ones.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// reassignPlan is Kafka's reassignment JSON: {"version":1,"partitions":
// [{"topic":"t","partition":0,"replicas":[2,3,1],"log_dirs":["any",...]}]}.
type reassignPlan struct {
	Version    int                 `json:"version"`
	Partitions []reassignPlanEntry `json:"partitions"`
}

type reassignPlanEntry struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs,omitempty"`
}

// readReassignPlan parses and checks a plan file. Strata has one log
// directory per broker, so log_dirs may only say "any".
func readReassignPlan(path string) (reassignPlan, error) {
	var plan reassignPlan
	b, err := os.ReadFile(path)
	if err != nil {
		return plan, err
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		return plan, fmt.Errorf("%s: %w", path, err)
	}
	if plan.Version != 0 && plan.Version != 1 {
		return plan, fmt.Errorf("%s: version %d: only version 1 is known", path, plan.Version)
	}
	if len(plan.Partitions) == 0 {
		return plan, fmt.Errorf("%s: no partitions listed", path)
	}
	seen := map[string]bool{}
	for i, e := range plan.Partitions {
		name := partitionName(e.Topic, e.Partition)
		switch {
		case validateTopicName(e.Topic) != nil:
			return plan, fmt.Errorf("%s: entry %d: %w", path, i, validateTopicName(e.Topic))
		case e.Partition < 0:
			return plan, fmt.Errorf("%s: entry %d: partition %d", path, i, e.Partition)
		case seen[name]:
			return plan, fmt.Errorf("%s: partition %s is listed twice", path, name)
		}
		seen[name] = true
		if err := checkReplicaList(e.Replicas); err != nil {
			return plan, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		for _, d := range e.LogDirs {
			if d != "any" {
				return plan, fmt.Errorf("%s: %s: log_dirs %q: Strata brokers have one log directory; use \"any\"", path, name, d)
			}
		}
	}
	return plan, nil
}

func checkReplicaList(rs []int32) error {
	if len(rs) == 0 {
		return errors.New("no replicas given")
	}
	for i, r := range rs {
		if r < 0 {
			return fmt.Errorf("replica %d is not a broker id", r)
		}
		if slices.Contains(rs[:i], r) {
			return fmt.Errorf("broker %d is named twice in the replicas", r)
		}
	}
	return nil
}

func newPartitionReassignCmd(cf *clientFlags) *cobra.Command {
	var (
		topic      string
		partition  int32
		replicas   string
		planFile   string
		verify     bool
		list       bool
		cancel     bool
		wait       bool
		waitPeriod time.Duration
	)
	cmd := &cobra.Command{
		Use:   "reassign --topic T --partition P --replicas B,B,B | --reassignment-json-file F [--verify|--cancel] | --list",
		Short: "Move partitions to new replica sets, and check or cancel the moves",
		Long: `Reassign partition replicas, like kafka-reassign-partitions.sh.

The target is one partition (--topic, --partition, --replicas 2,3,1; the
first replica is the preferred leader) or a JSON plan in Kafka's format
(--reassignment-json-file, {"version":1,"partitions":[{"topic":"t",
"partition":0,"replicas":[2,3,1]}]}).

Without a mode flag the reassignment is started (--execute): the cluster
adds the new replicas, waits until they have caught up and joined the ISR,
then drops the replicas that are not in the target, while clients keep
reading and writing. The current assignment is printed first, as a plan
that would move everything back. --wait then waits until it is done.

--verify reports, per partition of the target, whether its reassignment
is complete, still in progress, or neither (no reassignment running and
the replicas are not the target: the command then fails).
--list shows every reassignment in progress (of --topic's partitions, or
all). --cancel stops the target's reassignments, keeping the replicas
that were there before.`,
		Example: `  strata partition reassign --topic orders --partition 0 --replicas 2,3,4
  strata partition reassign --reassignment-json-file plan.json --wait
  strata partition reassign --reassignment-json-file plan.json --verify
  strata partition reassign --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			modes := 0
			for _, b := range []bool{verify, list, cancel} {
				if b {
					modes++
				}
			}
			if modes > 1 {
				return errors.New("give at most one of --verify, --list and --cancel")
			}
			if wait && modes > 0 {
				return errors.New("--wait goes with starting a reassignment, not with --verify, --list or --cancel")
			}
			if list {
				if planFile != "" || replicas != "" || cmd.Flags().Changed("partition") {
					return errors.New("--list takes only --topic")
				}
				if topic != "" {
					if err := validateTopicName(topic); err != nil {
						return err
					}
				}
				return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
					return listReassignments(ctx, cmd.OutOrStdout(), adm, topic)
				})
			}
			plan, err := reassignTarget(cmd, planFile, topic, partition, replicas, cancel)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case verify:
				return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
					_, err := verifyReassignment(ctx, out, adm, plan)
					return err
				})
			case cancel:
				return withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
					return cancelReassignment(ctx, out, adm, plan)
				})
			}
			err = withAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				return executeReassignment(ctx, out, adm, plan)
			})
			if err != nil || !wait {
				return err
			}
			return waitReassignment(cmd.Context(), out, cf, plan, waitPeriod)
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "topic of the partition to move (with --list: only its reassignments)")
	f.Int32Var(&partition, "partition", 0, "partition to move")
	f.StringVar(&replicas, "replicas", "", "target replica broker ids, preferred leader first, e.g. 2,3,1")
	f.StringVar(&planFile, "reassignment-json-file", "", "JSON plan in Kafka's format")
	f.BoolVar(&verify, "verify", false, "report whether the target's reassignments are complete")
	f.BoolVar(&list, "list", false, "list the reassignments in progress")
	f.BoolVar(&cancel, "cancel", false, "cancel the target's reassignments")
	f.Bool("execute", true, "start the reassignment (the default mode; accepted for kafka-reassign-partitions.sh users)")
	f.BoolVar(&wait, "wait", false, "after starting, wait until every partition of the target is reassigned")
	f.DurationVar(&waitPeriod, "wait-interval", time.Second, "how often --wait checks")
	return cmd
}

// reassignTarget builds the plan from the flags or the plan file. With
// --cancel the replicas may be left out.
func reassignTarget(cmd *cobra.Command, planFile, topic string, partition int32, replicas string, cancel bool) (reassignPlan, error) {
	partSet := cmd.Flags().Changed("partition")
	if planFile != "" {
		if topic != "" || partSet || replicas != "" {
			return reassignPlan{}, errors.New("give either --reassignment-json-file or --topic/--partition/--replicas, not both")
		}
		return readReassignPlan(planFile)
	}
	if topic == "" || !partSet {
		return reassignPlan{}, errors.New("give --topic and --partition (and --replicas), or --reassignment-json-file")
	}
	if err := validateTopicName(topic); err != nil {
		return reassignPlan{}, err
	}
	if partition < 0 {
		return reassignPlan{}, fmt.Errorf("--partition %d: want 0 or more", partition)
	}
	e := reassignPlanEntry{Topic: topic, Partition: partition}
	switch {
	case replicas != "":
		rs, err := parseBrokerList("--replicas", replicas)
		if err != nil {
			return reassignPlan{}, err
		}
		e.Replicas = rs
	case !cancel:
		return reassignPlan{}, errors.New("--replicas is required (the target broker ids, e.g. 2,3,1)")
	}
	return reassignPlan{Version: 1, Partitions: []reassignPlanEntry{e}}, nil
}

// currentAssignment reads the plan's partitions' replica lists from
// Metadata, failing plainly on a topic or partition that does not exist.
func currentAssignment(ctx context.Context, adm *kadm.Client, plan reassignPlan) (map[string]map[int32][]int32, error) {
	var topics []string
	for _, e := range plan.Partitions {
		if !slices.Contains(topics, e.Topic) {
			topics = append(topics, e.Topic)
		}
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, err
	}
	cur := make(map[string]map[int32][]int32)
	for _, e := range plan.Partitions {
		td, ok := md.Topics[e.Topic]
		if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("topic %q does not exist", e.Topic)
		}
		pd, ok := td.Partitions[e.Partition]
		if !ok {
			return nil, fmt.Errorf("topic %q has no partition %d (it has %d)", e.Topic, e.Partition, len(td.Partitions))
		}
		if cur[e.Topic] == nil {
			cur[e.Topic] = make(map[int32][]int32)
		}
		cur[e.Topic][e.Partition] = pd.Replicas
	}
	return cur, nil
}

func executeReassignment(ctx context.Context, out io.Writer, adm *kadm.Client, plan reassignPlan) error {
	cur, err := currentAssignment(ctx, adm, plan)
	if err != nil {
		return err
	}
	rollback := reassignPlan{Version: 1}
	var req kadm.AlterPartitionAssignmentsReq
	for _, e := range plan.Partitions {
		rollback.Partitions = append(rollback.Partitions, reassignPlanEntry{Topic: e.Topic, Partition: e.Partition, Replicas: cur[e.Topic][e.Partition]})
		req.Assign(e.Topic, e.Partition, e.Replicas)
	}
	rb, _ := json.Marshal(rollback)
	fmt.Fprintf(out, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n", rb)
	rs, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return err
	}
	return reportAlterResults(out, "started partition reassignment", plan, rs)
}

func cancelReassignment(ctx context.Context, out io.Writer, adm *kadm.Client, plan reassignPlan) error {
	var req kadm.AlterPartitionAssignmentsReq
	for _, e := range plan.Partitions {
		req.CancelAssign(e.Topic, e.Partition)
	}
	rs, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return err
	}
	return reportAlterResults(out, "cancelled partition reassignment", plan, rs)
}

// reportAlterResults prints one line per partition that succeeded
// ("Successfully started partition reassignment for t-0") and fails with
// the others' errors.
func reportAlterResults(out io.Writer, what string, plan reassignPlan, rs kadm.AlterPartitionAssignmentsResponses) error {
	var errs []error
	for _, e := range plan.Partitions {
		name := partitionName(e.Topic, e.Partition)
		r, ok := rs[e.Topic][e.Partition]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: the broker's answer did not mention it", name))
		case errors.Is(r.Err, kerr.NoReassignmentInProgress):
			fmt.Fprintf(out, "No reassignment of %s was in progress\n", name)
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %s", name, kafkaErr(r.Err, r.ErrMessage)))
		default:
			fmt.Fprintf(out, "Successfully %s for %s\n", what, name)
		}
	}
	return errors.Join(errs...)
}

// errNotOnTarget is --verify's failure: a partition that is neither being
// moved nor on its target replicas.
var errNotOnTarget = errors.New("are not on their target replicas and not being moved")

// reassignState is one partition's progress as --verify reports it.
type reassignState int

const (
	reassignDone reassignState = iota
	reassignRunning
	reassignMismatch // nothing running, and the replicas are not the target
)

// verifyReassignment prints each target partition's state, as
// kafka-reassign-partitions.sh --verify does, and returns whether all
// are complete. A partition in neither state fails the command.
func verifyReassignment(ctx context.Context, out io.Writer, adm *kadm.Client, plan reassignPlan) (bool, error) {
	cur, err := currentAssignment(ctx, adm, plan)
	if err != nil {
		return false, err
	}
	set := make(kadm.TopicsSet)
	for _, e := range plan.Partitions {
		set.Add(e.Topic, e.Partition)
	}
	inflight, err := adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(out, "Status of partition reassignment:")
	allDone := true
	var mismatched []string
	for _, e := range plan.Partitions {
		name := partitionName(e.Topic, e.Partition)
		_, running := inflight[e.Topic][e.Partition]
		st := reassignDone
		switch {
		case running:
			st = reassignRunning
		case !slices.Equal(cur[e.Topic][e.Partition], e.Replicas):
			st = reassignMismatch
		}
		switch st {
		case reassignDone:
			fmt.Fprintf(out, "Reassignment of partition %s is completed.\n", name)
		case reassignRunning:
			allDone = false
			fmt.Fprintf(out, "Reassignment of partition %s is still in progress.\n", name)
		case reassignMismatch:
			allDone = false
			mismatched = append(mismatched, name)
			fmt.Fprintf(out, "There is no active reassignment of partition %s, but replica set is %s rather than %s.\n",
				name, joinInt32s(cur[e.Topic][e.Partition]), joinInt32s(e.Replicas))
		}
	}
	if len(mismatched) > 0 {
		return false, fmt.Errorf("%d partitions %w", len(mismatched), errNotOnTarget)
	}
	return allDone, nil
}

// waitReassignment runs --verify every period until everything is done.
// A partition neither moving nor on its target counts as not yet started
// for a while: the broker answering Metadata may not have applied the
// change the controller just accepted.
func waitReassignment(ctx context.Context, out io.Writer, cf *clientFlags, plan reassignPlan, period time.Duration) error {
	if period <= 0 {
		return errors.New("--wait-interval must be positive")
	}
	const settle = 15 * time.Second
	start := time.Now()
	for {
		var done bool
		err := withAdmin(ctx, cf, func(ctx context.Context, adm *kadm.Client) error {
			var err error
			done, err = verifyReassignment(ctx, io.Discard, adm, plan)
			return err
		})
		if errors.Is(err, errNotOnTarget) && time.Since(start) < settle {
			err = nil
		}
		if err != nil {
			return err
		}
		if done {
			fmt.Fprintln(out, "Reassignment complete.")
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted while waiting; the reassignment goes on (check it with --verify)")
		case <-time.After(period):
		}
	}
}

// listReassignments prints the reassignments in progress, as
// kafka-reassign-partitions.sh --list does.
func listReassignments(ctx context.Context, out io.Writer, adm *kadm.Client, topic string) error {
	var topics []string
	if topic != "" {
		topics = []string{topic}
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err
	}
	set := make(kadm.TopicsSet)
	for name, td := range md.Topics {
		if errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("topic %q does not exist", name)
		}
		for p := range td.Partitions {
			set.Add(name, p)
		}
	}
	rs, err := adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return err
	}
	sorted := rs.Sorted()
	if len(sorted) == 0 {
		fmt.Fprintln(out, "No partition reassignments found.")
		return nil
	}
	fmt.Fprintln(out, "Current partition reassignments:")
	for _, r := range sorted {
		fmt.Fprintf(out, "%s: replicas: %s. adding: %s. removing: %s.\n", partitionName(r.Topic, r.Partition),
			joinInt32s(r.Replicas), joinInt32s(r.AddingReplicas), joinInt32s(r.RemovingReplicas))
	}
	return nil
}
