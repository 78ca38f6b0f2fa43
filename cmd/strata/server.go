package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/server"
)

func newServerCmd() *cobra.Command {
	var (
		listen, dataDir, advertise, propsFile, logLevel string
		debugListen, controllerListen, voters           string
		nodeID                                          int32
		overrides                                       []string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Strata broker",
		Long: `Run a Strata broker. With no flags it serves on 127.0.0.1:9092 with its data in ./data.

Every broker setting uses Kafka's config name. They are read, later ones winning,
from the properties file (--config), STRATA_-prefixed environment variables
(STRATA_LOG_RETENTION_HOURS=24 sets log.retention.hours), --override key=value,
and the --listen/--data-dir/--advertise/--node-id/--controller-listen/--voters flags.

A cluster: start each broker with --node-id N --listen HOST:PORT --controller-listen
HOST:PORT --voters 1@HOST:PORT,2@HOST:PORT,3@HOST:PORT --data-dir DIR. The voters
list names the controller listeners; a broker whose id is in it is a voter of the
metadata quorum, others join as non-voting brokers. No format step is needed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set := map[string]string{}
			if propsFile != "" {
				props, err := config.LoadPropertiesFile(propsFile)
				if err != nil {
					return err
				}
				for k, v := range props {
					set[k] = v
				}
			}
			for k, v := range config.FromEnv(os.Environ()) {
				set[k] = v
			}
			for _, kv := range overrides {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--override %q: want key=value", kv)
				}
				set[strings.TrimSpace(k)] = v
			}
			// --listen replaces the client listener and --controller-listen
			// the CONTROLLER one; a listeners value from elsewhere keeps
			// the other.
			client, ctrl, lerr := config.SplitListeners(set["listeners"])
			if lerr != nil && (cmd.Flags().Changed("listen") || controllerListen != "") {
				return fmt.Errorf("listeners %q: %w", set["listeners"], lerr)
			}
			if lerr == nil {
				if cmd.Flags().Changed("listen") || client == "" {
					client = listen
				}
				if controllerListen != "" {
					ctrl = controllerListen
				}
				set["listeners"] = config.JoinListeners(client, ctrl)
			}
			if cmd.Flags().Changed("node-id") {
				set["node.id"] = strconv.Itoa(int(nodeID))
			}
			if cmd.Flags().Changed("voters") {
				set[config.ControllerQuorumVoters] = voters
			}
			if cmd.Flags().Changed("data-dir") || (set["log.dirs"] == "" && set["log.dir"] == "") {
				delete(set, "log.dir")
				set["log.dirs"] = dataDir
			}
			if advertise != "" {
				set["advertised.listeners"] = advertise
			}
			cfg, err := config.NewBroker(set)
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

			b, err := server.New(cfg, server.Options{Logger: logger})
			if err != nil {
				return err
			}
			if debugListen != "" {
				stop, err := serveDebug(debugListen, logger)
				if err != nil {
					b.Close()
					return err
				}
				defer stop()
			}
			// main cancels the context on SIGINT or SIGTERM: a clean
			// shutdown (checkpoints, clean-shutdown marker).
			<-cmd.Context().Done()
			logger.Info("shutting down")
			return b.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9092", "host:port to serve Kafka clients on")
	f.StringVar(&dataDir, "data-dir", "./data", "directory for logs and metadata (Kafka's log.dirs)")
	f.Int32Var(&nodeID, "node-id", 1, "this broker's node.id")
	f.StringVar(&controllerListen, "controller-listen", "", "host:port of the CONTROLLER listener (the metadata quorum's Raft and controller RPC)")
	f.StringVar(&voters, "voters", "", "controller.quorum.voters: id@host:port,... of the voters' controller listeners (empty: a single-node quorum)")
	f.StringVar(&advertise, "advertise", "", "host:port clients are told to connect to (default: the listen address)")
	f.StringVar(&propsFile, "config", "", "Kafka-style server.properties file")
	f.StringArrayVar(&overrides, "override", nil, "broker config key=value, Kafka names (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&debugListen, "debug-listen", "", "host:port of an HTTP listener serving Go's /debug/pprof profiles (off by default; not a Kafka port, keep it on localhost)")
	return cmd
}
