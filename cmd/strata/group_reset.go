package main

// group_reset.go is `strata group reset-offsets`: kafka-consumer-groups.sh
// --reset-offsets. It works out a new committed offset per partition
// (the plan), prints it, and commits it only with --execute, and then only
// if the group has no active members (their next commit would overwrite
// it). The plan is a pure function of the partitions' offsets, tested
// without a broker.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// resetKind is the --to-* / --shift-by choice.
type resetKind int

const (
	resetEarliest resetKind = iota + 1
	resetLatest
	resetOffset   // n is the offset
	resetDatetime // n is Unix milliseconds
	resetShift    // n is added to the committed offset
)

type resetSpec struct {
	kind resetKind
	n    int64
}

// topicSpec is one --topic T or --topic T:p,p.
type topicSpec struct {
	topic      string
	partitions []int32 // nil: every partition
}

// parseTopicSpec reads kafka-consumer-groups.sh's --topic syntax,
// "topic" or "topic:0,1,2". Topic names cannot hold ':'.
func parseTopicSpec(s string) (topicSpec, error) {
	name, parts, hasParts := strings.Cut(s, ":")
	if err := validateTopicName(name); err != nil {
		return topicSpec{}, fmt.Errorf("--topic %q: %w", s, err)
	}
	ts := topicSpec{topic: name}
	if !hasParts {
		return ts, nil
	}
	for p := range strings.SplitSeq(parts, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || n < 0 {
			return topicSpec{}, fmt.Errorf("--topic %q: %q is not a partition number", s, p)
		}
		if !slices.Contains(ts.partitions, int32(n)) {
			ts.partitions = append(ts.partitions, int32(n))
		}
	}
	slices.Sort(ts.partitions)
	return ts, nil
}

// parseResetDatetime reads --to-datetime as Kafka does
// (YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone such as Z or +02:00;
// without a zone the local time zone applies) and returns Unix ms.
func parseResetDatetime(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone (Z, +02:00)", s)
}

// partitionOffsets is what the plan needs to know about one partition.
type partitionOffsets struct {
	topic     string
	partition int32
	committed int64 // -1: the group has no committed offset here
	start     int64 // log start offset
	end       int64 // log end offset (high watermark)
	byTime    int64 // first offset at or after --to-datetime; -1: none
}

// resetRow is one partition of the plan.
type resetRow struct {
	topic     string
	partition int32
	newOffset int64
}

// planReset computes the new offset of every partition. Like Kafka, a
// target outside [log start, log end] is clamped into it, with a warning;
// --to-datetime after the last record means the log end; --shift-by needs
// a committed offset to shift.
func planReset(spec resetSpec, ps []partitionOffsets) ([]resetRow, []string, error) {
	var warnings []string
	rows := make([]resetRow, 0, len(ps))
	for _, p := range ps {
		var target int64
		switch spec.kind {
		case resetEarliest:
			target = p.start
		case resetLatest:
			target = p.end
		case resetOffset:
			target = spec.n
		case resetDatetime:
			target = p.byTime
			if target < 0 {
				target = p.end
			}
		case resetShift:
			if p.committed < 0 {
				return nil, nil, fmt.Errorf("cannot shift the offset of %s-%d: the group has no committed offset there (use --to-earliest, --to-latest or --to-offset)", p.topic, p.partition)
			}
			target = p.committed + spec.n
		default:
			return nil, nil, errors.New("no reset target given")
		}
		switch {
		case target < p.start:
			warnings = append(warnings, fmt.Sprintf("New offset (%d) is lower than earliest offset for topic partition %s-%d. Value will be set to %d", target, p.topic, p.partition, p.start))
			target = p.start
		case target > p.end:
			warnings = append(warnings, fmt.Sprintf("New offset (%d) is higher than latest offset for topic partition %s-%d. Value will be set to %d", target, p.topic, p.partition, p.end))
			target = p.end
		}
		rows = append(rows, resetRow{topic: p.topic, partition: p.partition, newOffset: target})
	}
	return rows, warnings, nil
}

func newGroupResetOffsetsCmd(cf *clientFlags) *cobra.Command {
	var (
		group                string
		topics               []string
		allTopics            bool
		toEarliest, toLatest bool
		toOffset, shiftBy    int64
		toDatetime           string
		dryRun, execute      bool
	)
	cmd := &cobra.Command{
		Use:   "reset-offsets --group G (--topic T[:P,P...]... | --all-topics) TARGET [--dry-run | --execute]",
		Short: "Move a group's committed offsets (prints the plan; --execute applies it)",
		Long: `Set a consumer group's committed offsets, as kafka-consumer-groups.sh
--reset-offsets does.

Partitions: --topic T (every partition of T) or --topic T:0,2 (those), 
repeatable; or --all-topics (every partition the group has committed).
TARGET is one of --to-earliest, --to-latest, --to-offset N,
--to-datetime YYYY-MM-DDTHH:mm:SS.sss (local time unless a zone such as Z
or +02:00 is given), --shift-by N (N may be negative). A new offset outside
[log start, log end] is clamped into it, with a warning.

Without --execute nothing changes: the plan (GROUP TOPIC PARTITION
NEW-OFFSET) is printed, as with --dry-run. --execute commits it, and
refuses while the group has active members.`,
		Example: `  strata group reset-offsets --group billing --topic orders --to-earliest
  strata group reset-offsets --group billing --topic orders:0,1 --shift-by -10 --execute
  strata group reset-offsets --group billing --all-topics --to-datetime 2026-01-01T00:00:00.000Z --execute`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if group == "" {
				return errors.New("--group is required")
			}
			if len(topics) == 0 && !allTopics {
				return errors.New("give the partitions to reset: --topic T[:P,P...] or --all-topics")
			}
			var specs []topicSpec
			for _, t := range topics {
				ts, err := parseTopicSpec(t)
				if err != nil {
					return err
				}
				specs = append(specs, ts)
			}
			var spec resetSpec
			switch {
			case toEarliest:
				spec.kind = resetEarliest
			case toLatest:
				spec.kind = resetLatest
			case fs.Changed("to-offset"):
				if toOffset < 0 {
					return fmt.Errorf("--to-offset %d: want an offset >= 0", toOffset)
				}
				spec = resetSpec{kind: resetOffset, n: toOffset}
			case fs.Changed("to-datetime"):
				ms, err := parseResetDatetime(toDatetime)
				if err != nil {
					return err
				}
				spec = resetSpec{kind: resetDatetime, n: ms}
			case fs.Changed("shift-by"):
				spec = resetSpec{kind: resetShift, n: shiftBy}
			default:
				return errors.New("give a reset target: --to-earliest, --to-latest, --to-offset N, --to-datetime T or --shift-by N")
			}
			return withGroupAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				return resetOffsets(ctx, adm, group, specs, spec, execute, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&group, "group", "", "the consumer group (required)")
	fs.StringArrayVar(&topics, "topic", nil, "topic to reset, T or T:P,P (repeatable)")
	fs.BoolVar(&allTopics, "all-topics", false, "reset every partition the group has a committed offset for")
	fs.BoolVar(&toEarliest, "to-earliest", false, "to the log start offset")
	fs.BoolVar(&toLatest, "to-latest", false, "to the log end offset")
	fs.Int64Var(&toOffset, "to-offset", 0, "to this offset")
	fs.StringVar(&toDatetime, "to-datetime", "", "to the first offset at or after this time, YYYY-MM-DDTHH:mm:SS.sss[zone]")
	fs.Int64Var(&shiftBy, "shift-by", 0, "by N from the committed offset (N may be negative)")
	fs.BoolVar(&dryRun, "dry-run", false, "only print the plan (the default)")
	fs.BoolVar(&execute, "execute", false, "commit the new offsets")
	cmd.MarkFlagsMutuallyExclusive("to-earliest", "to-latest", "to-offset", "to-datetime", "shift-by")
	cmd.MarkFlagsMutuallyExclusive("topic", "all-topics")
	cmd.MarkFlagsMutuallyExclusive("dry-run", "execute")
	return cmd
}

// resetOffsets gathers the offsets the plan needs, prints the plan and,
// with execute, commits it.
func resetOffsets(ctx context.Context, adm *kadm.Client, group string, specs []topicSpec, spec resetSpec, execute bool, out, errOut io.Writer) error {
	if execute {
		// Kafka's rule: only an inactive group (Empty, or Dead: no
		// such group yet) can have its offsets reset.
		infos, errs, err := lookupGroups(ctx, adm, []string{group})
		if err != nil {
			return err
		}
		g, ok := infos[group]
		switch {
		case !ok && errors.Is(errs[group], errGroupNotFound):
		case !ok:
			return errs[group]
		case g.state != "Empty" && g.state != "Dead":
			return fmt.Errorf("assignments can only be reset if the group %q is inactive, but the current state is %s (stop its %d consumer(s) first)", group, g.state, len(g.members))
		}
	}
	commits, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return groupErr("fetch offsets of", group, err, "")
	}
	ps, err := resetPartitions(ctx, adm, group, specs, commits, spec)
	if err != nil {
		return err
	}
	rows, warnings, err := planReset(spec, ps)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(errOut, "WARN:", w)
	}
	if execute {
		offs := make(kadm.Offsets)
		for _, r := range rows {
			offs.Add(kadm.Offset{Topic: r.topic, Partition: r.partition, At: r.newOffset, LeaderEpoch: -1})
		}
		rs, err := adm.CommitOffsets(ctx, group, offs)
		if err != nil {
			return groupErr("commit offsets of", group, err, "")
		}
		if err := rs.Error(); err != nil {
			return groupErr("commit offsets of", group, err, "")
		}
	}
	tw := tabwriter.NewWriter(out, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tNEW-OFFSET")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", group, r.topic, r.partition, r.newOffset)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !execute {
		fmt.Fprintln(errOut, "Dry run: nothing was changed; add --execute to commit these offsets.")
	}
	return nil
}

// resetPartitions resolves the partitions to reset and looks up their
// committed, start, end (and, for --to-datetime, by-time) offsets.
func resetPartitions(ctx context.Context, adm *kadm.Client, group string, specs []topicSpec, commits kadm.OffsetResponses, spec resetSpec) ([]partitionOffsets, error) {
	want := make(map[string][]int32)
	var topics []string
	if len(specs) == 0 { // --all-topics
		for t, ps := range commits {
			for p, o := range ps {
				if o.Err == nil && o.At >= 0 {
					want[t] = append(want[t], p)
				}
			}
		}
		if len(want) == 0 {
			return nil, fmt.Errorf("consumer group %q has no committed offsets; name the partitions with --topic", group)
		}
		for t := range want {
			topics = append(topics, t)
		}
	} else {
		for _, s := range specs {
			if !slices.Contains(topics, s.topic) {
				topics = append(topics, s.topic)
			}
		}
		md, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return nil, err
		}
		for _, s := range specs {
			td, ok := md.Topics[s.topic]
			if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("topic %q does not exist", s.topic)
			}
			if td.Err != nil && len(td.Partitions) == 0 {
				return nil, topicErr("use", s.topic, td.Err, "")
			}
			ps := s.partitions
			if ps == nil {
				ps = td.Partitions.Numbers()
			}
			for _, p := range ps {
				if _, ok := td.Partitions[p]; !ok {
					return nil, fmt.Errorf("topic %q has no partition %d (it has %d)", s.topic, p, len(td.Partitions))
				}
				if !slices.Contains(want[s.topic], p) {
					want[s.topic] = append(want[s.topic], p)
				}
			}
		}
	}
	slices.Sort(topics)
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var byTime kadm.ListedOffsets
	if spec.kind == resetDatetime {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, spec.n, topics...); err != nil {
			return nil, err
		}
	}
	var out []partitionOffsets
	for _, t := range topics {
		ps := want[t]
		slices.Sort(ps)
		for _, p := range ps {
			po := partitionOffsets{topic: t, partition: p, committed: -1, byTime: -1}
			if o, ok := commits.Lookup(t, p); ok && o.Err == nil && o.At >= 0 {
				po.committed = o.At
			}
			if po.start, err = lookupOffset(starts, nil, t, p); err != nil {
				return nil, fmt.Errorf("log start offset of %s-%d: %w", t, p, err)
			}
			if po.end, err = lookupOffset(ends, nil, t, p); err != nil {
				return nil, fmt.Errorf("log end offset of %s-%d: %w", t, p, err)
			}
			if spec.kind == resetDatetime {
				if po.byTime, err = lookupOffset(byTime, nil, t, p); err != nil {
					return nil, fmt.Errorf("offset by time of %s-%d: %w", t, p, err)
				}
			}
			out = append(out, po)
		}
	}
	return out, nil
}
