package main

// group.go is `strata group …`: kafka-consumer-groups.sh over the Kafka
// group APIs (ListGroups, DescribeGroups, OffsetFetch, OffsetCommit,
// DeleteGroups) through kadm. This file holds the command tree, `list` and
// `delete`; describe and reset-offsets have their own files.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newGroupCmd() *cobra.Command {
	cf := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "group",
		Short: "List, describe, delete consumer groups and reset their offsets (like kafka-consumer-groups.sh)",
	}
	cf.register(cmd.PersistentFlags())
	cmd.AddCommand(
		newGroupListCmd(cf),
		newGroupDescribeCmd(cf),
		newGroupDeleteCmd(cf),
		newGroupResetOffsetsCmd(cf),
	)
	return cmd
}

// withGroupAdmin is withAdmin for the group commands: it first refuses,
// plainly, a cluster without consumer group APIs (otherwise kadm would
// retry FindCoordinator until --request-timeout).
func withGroupAdmin(ctx context.Context, cf *clientFlags, fn func(context.Context, *kadm.Client) error) error {
	if err := cf.validate(); err != nil {
		return err
	}
	if err := checkGroupSupport(ctx, cf); err != nil {
		return cf.clusterErr(err)
	}
	return withAdmin(ctx, cf, fn)
}

// errGroupNotFound is wrapped by groupErr's "does not exist" errors.
var errGroupNotFound = errors.New("does not exist")

// groupErr turns a per-group Kafka error into a message naming the group.
func groupErr(verb, group string, err error, brokerMsg string) error {
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		return fmt.Errorf("consumer group %q %w", group, errGroupNotFound)
	case errors.Is(err, kerr.NonEmptyGroup):
		return fmt.Errorf("cannot %s consumer group %q: it has active members (stop its consumers first)", verb, group)
	case errors.Is(err, kerr.InvalidGroupID):
		return fmt.Errorf("cannot %s consumer group %q: %s", verb, group, kafkaErr(err, brokerMsg))
	}
	return fmt.Errorf("%s consumer group %q: %s", verb, group, kafkaErr(err, brokerMsg))
}

// groupStates are the group states Kafka defines (classic groups, then
// the KIP-848 consumer group states), in the spelling ListGroups uses.
var groupStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"}

// parseStates reads a comma-separated state filter case-insensitively, as
// kafka-consumer-groups.sh --state does, and returns the canonical names.
func parseStates(specs []string) ([]string, error) {
	var out []string
	for _, spec := range specs {
		for s := range strings.SplitSeq(spec, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			i := slices.IndexFunc(groupStates, func(st string) bool { return strings.EqualFold(st, s) })
			if i < 0 {
				return nil, fmt.Errorf("--state %q: not a group state; want one of %s", s, strings.Join(groupStates, ", "))
			}
			if !slices.Contains(out, groupStates[i]) {
				out = append(out, groupStates[i])
			}
		}
	}
	return out, nil
}

// stateAll is what a bare --state (no value) sets: show states, filter none.
const stateAll = "*"

func newGroupListCmd(cf *clientFlags) *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "list [--state [STATE,...]]",
		Short: "List consumer groups, one per line",
		Long: `List the consumer groups of the cluster (ListGroups), one name per line.

With --state, print each group's state too (GROUP and STATE columns); with
--state STATE[,STATE...] list only the groups in those states
(case-insensitive: Empty, Stable, PreparingRebalance, CompletingRebalance,
Dead, Assigning, Reconciling).`,
		Example: `  strata group list
  strata group list --state
  strata group list --state stable,empty`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var filter []string
			showState := cmd.Flags().Changed("state")
			switch {
			case !showState && len(args) > 0:
				return fmt.Errorf("unexpected argument %q", args[0])
			case state == stateAll:
				// pflag takes "--state Stable" as a bare --state plus
				// an argument; read it the way the user meant it.
				filter = args
			case len(args) > 0:
				return fmt.Errorf("unexpected argument %q", args[0])
			default:
				filter = []string{state}
			}
			states, err := parseStates(filter)
			if err != nil {
				return err
			}
			return withGroupAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				gs, err := adm.ListGroups(ctx, states...)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if !showState {
					for _, g := range gs.Sorted() {
						fmt.Fprintln(out, g.Group)
					}
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 8, 1, ' ', 0)
				fmt.Fprintln(tw, "GROUP\tSTATE")
				for _, g := range gs.Sorted() {
					// NB: a broker that predates the states filter
					// (ListGroups < v4) ignores it; filter here too.
					if len(states) > 0 && !slices.Contains(states, g.State) {
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\n", g.Group, g.State)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "show group states; with a value, list only groups in these comma-separated states")
	cmd.Flags().Lookup("state").NoOptDefVal = stateAll
	return cmd
}

func newGroupDeleteCmd(cf *clientFlags) *cobra.Command {
	var groupFlags []string
	cmd := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete consumer groups and their committed offsets",
		Long: `Delete consumer groups (DeleteGroups) with their committed offsets. Only a
group without active members can be deleted; stop its consumers first.`,
		Example: `  strata group delete billing-workers`,
		RunE: func(cmd *cobra.Command, args []string) error {
			groups := append(slices.Clone(args), groupFlags...)
			if len(groups) == 0 {
				return errors.New("no group given (GROUP... or --group GROUP)")
			}
			for _, g := range groups {
				if g == "" {
					return errors.New("empty group name")
				}
			}
			return withGroupAdmin(cmd.Context(), cf, func(ctx context.Context, adm *kadm.Client) error {
				rs, err := adm.DeleteGroups(ctx, groups...)
				if err != nil {
					return err
				}
				var errs []error
				for _, g := range groups {
					r, ok := rs[g]
					switch {
					case !ok:
						errs = append(errs, fmt.Errorf("delete consumer group %q: the broker's answer did not mention the group", g))
					case r.Err != nil:
						errs = append(errs, groupErr("delete", g, r.Err, ""))
					default:
						fmt.Fprintf(cmd.OutOrStdout(), "Deleted consumer group %s.\n", g)
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringArrayVar(&groupFlags, "group", nil, "group to delete (repeatable; same as GROUP)")
	return cmd
}
