// Command strata is the Strata broker and its tools: the server, topic
// administration, a console producer and consumer, consumer group
// administration, benchmarks, cluster status and a local development
// cluster, and partition reassignment and leader election.
// Every client-side command is a plain Kafka client (franz-go) and works
// against any Kafka broker.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// The first SIGINT/SIGTERM cancels the command's context so it can
	// finish cleanly (flush a producer, commit a consumer's offsets); once
	// that has happened the default handling is restored, so a second
	// Ctrl-C kills a command that is stuck.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Strata: a Kafka-compatible streaming platform in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd())
	root.AddCommand(newTopicCmd())
	root.AddCommand(newProduceCmd())
	root.AddCommand(newConsumeCmd())
	root.AddCommand(newGroupCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newClusterCmd())
	root.AddCommand(newPartitionCmd())
	return root
}
