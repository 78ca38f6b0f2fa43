package group

// ListGroups, DescribeGroups and DeleteGroups.

import (
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeAllOps is the authorized-operations bit field of a group when
// there is no authorizer: READ (3), DELETE (6) and DESCRIBE (8), the
// operations Kafka defines on groups.
const describeAllOps = 1<<3 | 1<<6 | 1<<8

// typeName is the group type ListGroups v5 reports.
func (g *Group) typeName() string {
	if g.kind == KindConsumer {
		return "consumer"
	}
	return "classic"
}

func (g *Group) stateNameLocked() string {
	if g.kind == KindConsumer && g.consumer != nil {
		return g.consumer.StateName()
	}
	return g.state.String()
}

// ListGroups lists the groups of every shard this broker serves, filtered
// by state (v4+, case-insensitive as in Kafka) and type (v5+). A shard
// still loading makes the answer COORDINATOR_LOAD_IN_PROGRESS with the
// groups known so far.
func (c *Coordinator) ListGroups(req Request, r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	resp.Version = req.Version
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	for _, s := range c.shards() {
		if code := s.ready(); code != 0 {
			if code == kerr.CoordinatorLoadInProgress.Code {
				resp.ErrorCode = code
			}
			continue
		}
		for _, g := range s.groups() {
			g.mu.Lock()
			if g.dead {
				g.mu.Unlock()
				continue
			}
			lg := kmsg.NewListGroupsResponseGroup()
			lg.Group = g.id
			lg.ProtocolType = g.protocolType
			if g.kind == KindConsumer {
				lg.ProtocolType = "consumer"
			}
			lg.GroupState = g.stateNameLocked()
			lg.GroupType = g.typeName()
			g.mu.Unlock()
			if match(r.StatesFilter, lg.GroupState) && match(r.TypesFilter, lg.GroupType) {
				resp.Groups = append(resp.Groups, lg)
			}
		}
	}
	sort.Slice(resp.Groups, func(i, j int) bool { return resp.Groups[i].Group < resp.Groups[j].Group })
	return resp
}

// DescribeGroup describes one classic group. An unknown group is Dead
// with no error before v6 and GROUP_ID_NOT_FOUND from v6, as in Kafka;
// members' metadata and assignments are shown only while Stable.
func (c *Coordinator) DescribeGroup(version int16, id string, includeOps bool) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = id
	dg.AuthorizedOperations = -2147483648
	if includeOps {
		dg.AuthorizedOperations = describeAllOps
	}
	notFound := func() kmsg.DescribeGroupsResponseGroup {
		dg.State = "Dead"
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "group " + id + " not found"
			dg.ErrorMessage = &msg
		}
		return dg
	}
	if len(id) > maxStringLen {
		dg.ErrorCode = kerr.InvalidGroupID.Code
		return dg
	}
	g, code := c.lockGroupByID(id, false)
	if code != 0 {
		dg.ErrorCode = code
		return dg
	}
	if g == nil {
		return notFound()
	}
	defer g.mu.Unlock()
	if g.kind == KindConsumer {
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "group " + id + " is not a classic group"
			dg.ErrorMessage = &msg
		}
		dg.State = g.stateNameLocked()
		dg.ProtocolType = "consumer"
		return dg
	}
	dg.State = g.state.String()
	dg.ProtocolType = g.protocolType
	stable := g.state == StateStable
	if stable {
		dg.Protocol = g.protocol
	}
	for _, mid := range g.joinOrder {
		m := g.members[mid]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID = m.id
		if m.instanceID != "" {
			inst := m.instanceID
			dm.InstanceID = &inst
		}
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		dm.ProtocolMetadata = []byte{}
		dm.MemberAssignment = []byte{}
		if stable {
			if md := m.metadataFor(g.protocol); md != nil {
				dm.ProtocolMetadata = md
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

// DeleteGroup deletes an empty group and its offsets (tombstones for
// each), as DeleteGroups does. A group with members is NON_EMPTY_GROUP,
// an unknown one GROUP_ID_NOT_FOUND.
func (c *Coordinator) DeleteGroup(id string) int16 {
	if !validGroupID(id) {
		return kerr.InvalidGroupID.Code
	}
	g, code := c.lockGroupByID(id, false)
	if code != 0 {
		return code
	}
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	defer g.mu.Unlock()
	// NB: KIP-394 member ids handed out but not used yet do not make a
	// group non-empty, as in Kafka (its state is Empty).
	if !g.emptyLocked() {
		return kerr.NonEmptyGroup.Code
	}
	records := g.tombstonesLocked()
	for tp := range g.offsets {
		records = append(records, recordTombstone(offsetKey(g.id, tp.Topic, tp.Partition)))
	}
	if err := g.shard.write(records); err != nil {
		return writeErrorCode(err)
	}
	g.offsets = map[TopicPartition]Offset{}
	g.shard.removeLocked(g)
	c.log.Info("deleted group", "group", id)
	return 0
}
