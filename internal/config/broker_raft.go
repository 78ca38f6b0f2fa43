package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// Broker configs of the metadata quorum (Kafka's KRaft names).
const (
	ControllerQuorumVoters          = "controller.quorum.voters"
	ControllerListenerNames         = "controller.listener.names"
	ControllerQuorumElectionTimeout = "controller.quorum.election.timeout.ms"
	ControllerQuorumFetchTimeout    = "controller.quorum.fetch.timeout.ms"
)

// raftDefs are the quorum's configs with Kafka's defaults. A broker with
// no voters is a quorum of one by itself.
var raftDefs = []Def{
	{Name: ControllerQuorumVoters, Type: TypeList, Default: "", Check: checkVoters, Doc: "The metadata quorum's voters, id@host:port of their CONTROLLER listeners, comma-separated; empty: this node alone. A node whose node.id is listed is a voter; others join as non-voting brokers."},
	{Name: ControllerListenerNames, Type: TypeList, Default: "CONTROLLER", OneOf: []string{"CONTROLLER"}, Doc: "Name of the controller listener in listeners (Strata knows only CONTROLLER)."},
	intDef(ControllerQuorumElectionTimeout, 1000, 1, math.MaxInt32, "Longest a candidate waits for votes before starting a new election, ms."),
	intDef(ControllerQuorumFetchTimeout, 2000, 2, math.MaxInt32, "Longest a voter goes without hearing from the leader before it stands for election, ms."),
}

// controllerListener is the listener name that carries the quorum.
const controllerListener = "CONTROLLER"

// listener is one entry of listeners: NAME://host:port (a bare host:port
// is PLAINTEXT).
type listener struct{ name, addr string }

func parseListeners(v string) ([]listener, error) {
	var out []listener
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		l := listener{name: "PLAINTEXT", addr: part}
		if name, addr, ok := strings.Cut(part, "://"); ok {
			l = listener{name: strings.ToUpper(name), addr: addr}
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			return nil, fmt.Errorf("listener %q: want [NAME://]host:port: %v", part, err)
		}
		for _, o := range out {
			if o.name == l.name {
				return nil, fmt.Errorf("listener name %s appears twice", l.name)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// checkListener accepts a listeners value with one client listener and at
// most one CONTROLLER listener.
func checkListener(v string) error {
	ls, err := parseListeners(v)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.name != controllerListener {
			return nil
		}
	}
	return fmt.Errorf("no client listener (PLAINTEXT://host:port) in %q", v)
}

// clientListener returns the first non-controller listener's host:port.
func clientListener(v string) string {
	ls, _ := parseListeners(v)
	for _, l := range ls {
		if l.name != controllerListener {
			return l.addr
		}
	}
	return ""
}

// SplitListeners returns the client and CONTROLLER host:port of a
// listeners value ("" for one that is absent; an empty value has
// neither).
func SplitListeners(v string) (client, controller string, err error) {
	ls, err := parseListeners(v)
	if err != nil {
		return "", "", err
	}
	for _, l := range ls {
		switch {
		case l.name == controllerListener:
			controller = l.addr
		case client == "":
			client = l.addr
		}
	}
	return client, controller, nil
}

// JoinListeners is the listeners value with a PLAINTEXT client listener
// and, if controller is not "", a CONTROLLER listener.
func JoinListeners(client, controller string) string {
	v := "PLAINTEXT://" + client
	if controller != "" {
		v += "," + controllerListener + "://" + controller
	}
	return v
}

// ControllerListenAddr is the host:port of the CONTROLLER listener in
// listeners, "" if there is none.
func (b Broker) ControllerListenAddr() string {
	ls, _ := parseListeners(b.Str("listeners"))
	for _, l := range ls {
		if l.name == controllerListener {
			return l.addr
		}
	}
	return ""
}

// AdvertisedControllerAddr is the CONTROLLER entry of
// advertised.listeners, "" if there is none: the address other quorum
// members dial to reach a non-voting broker (a voter's is its entry in
// controller.quorum.voters).
func (b Broker) AdvertisedControllerAddr() string {
	v, ok := b.Get("advertised.listeners")
	if !ok {
		return ""
	}
	_, ctrl, _ := SplitListeners(v)
	return ctrl
}

// ParseVoters parses controller.quorum.voters: id@host:port,... into node
// id -> address. An empty value gives an empty map.
func ParseVoters(v string) (map[int32]string, error) {
	out := map[int32]string{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, addr, ok := strings.Cut(part, "@")
		if !ok {
			return nil, fmt.Errorf("voter %q: want id@host:port", part)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("voter %q: the id must be a node id (a non-negative integer)", part)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("voter %q: want id@host:port", part)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("voter %q: bad port %q", part, port)
		}
		if _, dup := out[int32(id)]; dup {
			return nil, fmt.Errorf("voter id %d appears twice", id)
		}
		for other, a := range out {
			if a == addr {
				return nil, fmt.Errorf("voters %d and %d have the same address %s", other, id, addr)
			}
		}
		out[int32(id)] = addr
	}
	return out, nil
}

func checkVoters(v string) error {
	_, err := ParseVoters(v)
	return err
}

// Voters is controller.quorum.voters parsed (validated when set).
func (b Broker) Voters() map[int32]string {
	m, _ := ParseVoters(b.Str(ControllerQuorumVoters))
	return m
}

// checkRaftConfigs applies the quorum's cross-field rules: a node of a
// quorum with other members needs a CONTROLLER listener (voters to vote,
// non-voting brokers to receive the metadata log).
func checkRaftConfigs(b Broker) error {
	voters := b.Voters()
	if len(voters) == 0 {
		return nil
	}
	if b.ControllerListenAddr() == "" {
		role := "is not in it, so it joins as a non-voting broker and"
		if _, ok := voters[b.NodeID()]; ok {
			role = "is a voter and"
		}
		return fmt.Errorf("%w: %s is set and node %d %s needs a CONTROLLER listener in listeners (e.g. --controller-listen host:port)", ErrInvalid, ControllerQuorumVoters, b.NodeID(), role)
	}
	return nil
}
