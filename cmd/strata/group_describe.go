package main

// group_describe.go is `strata group describe`: kafka-consumer-groups.sh
// --describe, with its three views: offsets (the default: per partition the
// committed offset, the log end offset, the lag and who consumes it),
// --members and --state. The rows are computed by pure functions from what
// DescribeGroups, OffsetFetch and ListOffsets returned, so they are tested
// without a broker.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeView is which table describe prints.
type describeView int

const (
	viewOffsets describeView = iota
	viewMembers
	viewState
)

func newGroupDescribeCmd(cf *clientFlags) *cobra.Command {
	var (
		groupFlags []string
		allGroups  bool
		members    bool
		state      bool
	)
	cmd := &cobra.Command{
		Use:   "describe GROUP... | --all-groups",
		Short: "Show a group's committed offsets, lag and members",
		Long: `Describe consumer groups, as kafka-consumer-groups.sh --describe does.

By default, one line per partition the group consumes or has committed:
GROUP TOPIC PARTITION CURRENT-OFFSET (committed; "-" if none)
LOG-END-OFFSET LAG (log end minus committed) CONSUMER-ID HOST CLIENT-ID
(the member the partition is assigned to; "-" if none).

--members prints one line per member: CONSUMER-ID HOST CLIENT-ID
#PARTITIONS and its ASSIGNMENT (topic(p,p,...)).
--state prints one line per group: the coordinator, the assignor
(ASSIGNMENT-STRATEGY), the STATE and the number of members.`,
		Example: `  strata group describe billing-workers
  strata group describe billing-workers --members
  strata group describe --all-groups --state`,
		RunE: func(cmd *cobra.Command, args []string) error {
			groups := append(slices.Clone(args), groupFlags...)
			switch {
			case allGroups && len(groups) > 0:
				return errors.New("give either GROUP... or --all-groups, not both")
			case !allGroups && len(groups) == 0:
				return errors.New("no group given (GROUP..., --group GROUP or --all-groups)")
			}
			view := viewOffsets
			if members {
				view = viewMembers
			} else if state {
				view = viewState
			}
			return withGroupAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				return describeGroups(ctx, adm, groups, view, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&groupFlags, "group", nil, "group to describe (repeatable; same as GROUP)")
	fs.BoolVar(&allGroups, "all-groups", false, "describe every group of the cluster")
	fs.BoolVar(&members, "members", false, "list members and their assignments instead of offsets")
	fs.BoolVar(&state, "state", false, "print each group's coordinator, assignor, state and member count instead of offsets")
	cmd.MarkFlagsMutuallyExclusive("members", "state")
	return cmd
}

// groupInfo is a group as describe prints it, from DescribeGroups (classic
// groups) or ConsumerGroupDescribe (KIP-848 consumer groups).
type groupInfo struct {
	state       string
	assignor    string // the classic protocol name or the KIP-848 server assignor; "" if none yet
	coordinator kadm.BrokerDetail
	members     []memberView
}

// lookupGroups describes groups with DescribeGroups; those it does not
// know as classic groups (Kafka 4 answers GROUP_ID_NOT_FOUND for a KIP-848
// group there) are asked for with ConsumerGroupDescribe, where the broker
// has it. A group neither knows keeps its DescribeGroups error.
func lookupGroups(ctx context.Context, adm *kadm.Client, groups []string) (map[string]groupInfo, map[string]error, error) {
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil && len(described) == 0 {
		return nil, nil, err
	}
	infos := make(map[string]groupInfo)
	errs := make(map[string]error)
	var retry []string
	for _, name := range groups {
		g, ok := described[name]
		switch {
		case !ok:
			errs[name] = fmt.Errorf("describe consumer group %q: the broker's answer did not mention the group", name)
		case errors.Is(g.Err, kerr.GroupIDNotFound):
			errs[name] = groupErr("describe", name, g.Err, g.ErrMessage)
			retry = append(retry, name)
		case g.Err != nil:
			errs[name] = groupErr("describe", name, g.Err, g.ErrMessage)
		default:
			infos[name] = groupInfo{state: g.State, assignor: g.Protocol, coordinator: g.Coordinator, members: memberViews(g)}
		}
	}
	if len(retry) == 0 || !supportsAPI(ctx, adm, kmsg.ConsumerGroupDescribe) {
		return infos, errs, nil
	}
	cgs, _ := adm.DescribeConsumerGroups(ctx, retry...)
	for _, name := range retry {
		g, ok := cgs[name]
		if !ok || g.Err != nil {
			continue // keep the DescribeGroups answer
		}
		info := groupInfo{state: g.State, assignor: g.AssignorName, coordinator: g.Coordinator}
		for _, m := range g.Members {
			v := memberView{id: dash(m.MemberID), host: dash(m.ClientHost), clientID: dash(m.ClientID), parts: make(map[string][]int32)}
			for t, ps := range m.Assignment {
				for p := range ps {
					v.parts[t] = append(v.parts[t], p)
				}
				slices.Sort(v.parts[t])
			}
			info.members = append(info.members, v)
		}
		infos[name] = info
		delete(errs, name)
	}
	return infos, errs, nil
}

// supportsAPI reports whether the broker answering adm advertises key.
func supportsAPI(ctx context.Context, adm *kadm.Client, key kmsg.Key) bool {
	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		return false
	}
	for _, v := range vs {
		if _, ok := v.KeyMaxVersion(key.Int16()); ok && v.Err == nil {
			return true
		}
	}
	return false
}

// describeGroups prints the chosen view of each group. A group that does
// not exist is an error, reported after the others are printed.
func describeGroups(ctx context.Context, adm *kadm.Client, groups []string, view describeView, out, errOut io.Writer) error {
	if len(groups) == 0 {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		groups = listed.Groups()
		if len(groups) == 0 {
			return nil
		}
	}
	infos, groupErrs, err := lookupGroups(ctx, adm, groups)
	if err != nil {
		return err
	}
	var errs []error
	tw := tabwriter.NewWriter(out, 0, 8, 1, ' ', 0)
	header := false
	for _, name := range groups {
		g, ok := infos[name]
		if !ok {
			errs = append(errs, groupErrs[name])
			continue
		}
		var commits kadm.OffsetResponses
		if view == viewOffsets || g.state == "Dead" {
			commits, err = adm.FetchOffsets(ctx, name)
			if err != nil {
				errs = append(errs, groupErr("fetch offsets of", name, err, ""))
				continue
			}
		}
		// Kafka before 4.0 answers DescribeGroups for an unknown group
		// with state Dead and no members rather than an error.
		if g.state == "Dead" && len(g.members) == 0 && !hasCommits(commits) {
			errs = append(errs, fmt.Errorf("consumer group %q does not exist", name))
			continue
		}
		switch view {
		case viewState:
			if !header {
				fmt.Fprintln(tw, "GROUP\tCOORDINATOR (ID)\tASSIGNMENT-STRATEGY\tSTATE\t#MEMBERS")
				header = true
			}
			c := g.coordinator
			fmt.Fprintf(tw, "%s\t%s:%d (%d)\t%s\t%s\t%d\n", name, c.Host, c.Port, c.NodeID, dash(g.assignor), g.state, len(g.members))
		case viewMembers:
			if len(g.members) == 0 {
				fmt.Fprintf(errOut, "Consumer group '%s' has no active members.\n", name)
				continue
			}
			if !header {
				fmt.Fprintln(tw, "GROUP\tCONSUMER-ID\tHOST\tCLIENT-ID\t#PARTITIONS\tASSIGNMENT")
				header = true
			}
			for _, m := range g.members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", name, m.id, m.host, m.clientID, countPartitions(m.parts), formatAssignment(m.parts))
			}
		default:
			if len(g.members) == 0 {
				fmt.Fprintf(errOut, "Consumer group '%s' has no active members.\n", name)
			}
			rows := offsetRows(g.members, commits)
			topics := rowTopics(rows)
			if len(topics) > 0 {
				// Best effort: a partition without a leader shows "-".
				ends, _ := adm.ListEndOffsets(ctx, topics...)
				fillEnds(rows, ends)
			}
			if !header {
				fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID")
				header = true
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", name, r.topic, r.partition,
					optOffset(r.current), optOffset(r.end), r.lagText(), r.consumerID, r.host, r.clientID)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// offsetRow is one line of the offsets view. Offsets are -1 when unknown.
type offsetRow struct {
	topic                      string
	partition                  int32
	current                    int64 // committed offset
	end                        int64 // log end offset (high watermark)
	lag                        int64 // end - current; valid only when hasLag
	hasLag                     bool
	consumerID, host, clientID string
}

// offsetRows lists, sorted by topic and partition, every partition
// assigned to a member of g and every partition g has a committed offset
// for, as kafka-consumer-groups.sh does; end and lag are left at -1 for
// fillEnds.
func offsetRows(members []memberView, commits kadm.OffsetResponses) []offsetRow {
	type tp struct {
		t string
		p int32
	}
	byTP := make(map[tp]*offsetRow)
	row := func(t string, p int32) *offsetRow {
		k := tp{t, p}
		r, ok := byTP[k]
		if !ok {
			r = &offsetRow{topic: t, partition: p, current: -1, end: -1, lag: -1, consumerID: "-", host: "-", clientID: "-"}
			byTP[k] = r
		}
		return r
	}
	for _, m := range members {
		for t, ps := range m.parts {
			for _, p := range ps {
				r := row(t, p)
				r.consumerID, r.host, r.clientID = m.id, m.host, m.clientID
			}
		}
	}
	for t, ps := range commits {
		for p, o := range ps {
			if o.Err != nil || o.At < 0 {
				continue // OffsetFetch answers -1 for "nothing committed"
			}
			row(t, p).current = o.At
		}
	}
	out := make([]offsetRow, 0, len(byTP))
	for _, r := range byTP {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b offsetRow) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	return out
}

// fillEnds sets each row's log end offset and lag from ListOffsets; a
// partition whose end could not be listed keeps "-" for both.
func fillEnds(rows []offsetRow, ends kadm.ListedOffsets) {
	for i := range rows {
		r := &rows[i]
		o, ok := ends.Lookup(r.topic, r.partition)
		if !ok || o.Err != nil {
			continue
		}
		r.end = o.Offset
		if r.current >= 0 {
			// NB: negative when the commit is past the log end
			// (e.g. the topic was re-created); shown as it is, as
			// Kafka does, because it is worth noticing.
			r.lag, r.hasLag = r.end-r.current, true
		}
	}
}

func rowTopics(rows []offsetRow) []string {
	var ts []string
	for _, r := range rows {
		if !slices.Contains(ts, r.topic) {
			ts = append(ts, r.topic)
		}
	}
	return ts
}

func hasCommits(c kadm.OffsetResponses) bool {
	for _, ps := range c {
		for _, o := range ps {
			if o.Err == nil && o.At >= 0 {
				return true
			}
		}
	}
	return false
}

// memberView is a group member as describe prints it.
type memberView struct {
	id, host, clientID string             // "-" when empty
	parts              map[string][]int32 // assignment by topic, partitions sorted
}

// memberViews decodes g's members' assignments. Members of a group that
// is not a consumer group (e.g. Kafka Connect) have no partitions.
func memberViews(g kadm.DescribedGroup) []memberView {
	out := make([]memberView, 0, len(g.Members))
	for _, m := range g.Members {
		v := memberView{id: dash(m.MemberID), host: dash(m.ClientHost), clientID: dash(m.ClientID), parts: make(map[string][]int32)}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				v.parts[t.Topic] = append(v.parts[t.Topic], t.Partitions...)
			}
		}
		for t := range v.parts {
			slices.Sort(v.parts[t])
		}
		out = append(out, v)
	}
	return out
}

func countPartitions(parts map[string][]int32) int {
	n := 0
	for _, ps := range parts {
		n += len(ps)
	}
	return n
}

// formatAssignment renders an assignment as kafka-consumer-groups.sh
// --members --verbose does: "t1(0,1),t2(3)", topics sorted; "-" if empty.
func formatAssignment(parts map[string][]int32) string {
	topics := make([]string, 0, len(parts))
	for t, ps := range parts {
		if len(ps) > 0 {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return "-"
	}
	slices.Sort(topics)
	var b strings.Builder
	for i, t := range topics {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t + "(" + joinInt32s(parts[t]) + ")")
	}
	return b.String()
}

func (r offsetRow) lagText() string {
	if !r.hasLag {
		return "-"
	}
	return strconv.FormatInt(r.lag, 10)
}

func optOffset(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
