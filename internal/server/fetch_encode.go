package server

// Fetch responses are the one place the broker encodes a response itself
// instead of through kmsg: kmsg needs the record sets in memory, and the
// point of a Fetch is to send them from the page cache to the socket with
// sendfile, never copying them through user space. The layout below is
// Kafka's FetchResponse v4–v13 field for field; fetch_encode_test.go checks
// it byte for byte against kmsg's encoder for every served version.

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/handlers"
	"github.com/strata-io/strata/internal/storage"
)

// splice marks where a record set goes in an encoded response: after the
// first at bytes of the buffer.
type splice struct {
	at  int
	sec storage.ReadResult
}

// appendFetchBody encodes resp's body into dst, leaving out the record
// sets held in resp.Sections; for each it appends a splice. With inline,
// those record sets are read into dst instead (no splices). Record sets
// given as bytes (RecordBatches) are always encoded inline.
func appendFetchBody(dst []byte, resp *handlers.FetchResponse, splices []splice, inline bool) ([]byte, []splice, error) {
	v := resp.FetchResponse
	version := v.Version
	if version < 4 || version > 13 {
		return nil, nil, fmt.Errorf("fetch response v%d is not served", version)
	}
	flexible := version >= 12
	appendArrayLen := func(dst []byte, n int) []byte {
		if flexible {
			return kbin.AppendCompactArrayLen(dst, n)
		}
		return kbin.AppendArrayLen(dst, n)
	}
	dst = kbin.AppendInt32(dst, v.ThrottleMillis)
	if version >= 7 {
		dst = kbin.AppendInt16(dst, v.ErrorCode)
		dst = kbin.AppendInt32(dst, v.SessionID)
	}
	dst = appendArrayLen(dst, len(v.Topics))
	for i := range v.Topics {
		t := &v.Topics[i]
		switch {
		case version >= 13:
			dst = kbin.AppendUuid(dst, t.TopicID)
		case flexible:
			dst = kbin.AppendCompactString(dst, t.Topic)
		default:
			dst = kbin.AppendString(dst, t.Topic)
		}
		dst = appendArrayLen(dst, len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			dst = kbin.AppendInt32(dst, p.Partition)
			dst = kbin.AppendInt16(dst, p.ErrorCode)
			dst = kbin.AppendInt64(dst, p.HighWatermark)
			dst = kbin.AppendInt64(dst, p.LastStableOffset)
			if version >= 5 {
				dst = kbin.AppendInt64(dst, p.LogStartOffset)
			}
			if flexible {
				dst = kbin.AppendCompactNullableArrayLen(dst, len(p.AbortedTransactions), p.AbortedTransactions == nil)
			} else {
				dst = kbin.AppendNullableArrayLen(dst, len(p.AbortedTransactions), p.AbortedTransactions == nil)
			}
			for _, a := range p.AbortedTransactions {
				dst = kbin.AppendInt64(dst, a.ProducerID)
				dst = kbin.AppendInt64(dst, a.FirstOffset)
				if flexible {
					dst = append(dst, 0)
				}
			}
			if version >= 11 {
				dst = kbin.AppendInt32(dst, p.PreferredReadReplica)
			}
			var sec storage.ReadResult
			if i < len(resp.Sections) && j < len(resp.Sections[i]) {
				sec = resp.Sections[i][j]
			}
			switch {
			case sec.Size > 0:
				if flexible {
					dst = kbin.AppendUvarint(dst, uint32(sec.Size)+1)
				} else {
					dst = kbin.AppendInt32(dst, int32(sec.Size))
				}
				if inline {
					var err error
					if dst, err = sec.AppendTo(dst); err != nil {
						return nil, nil, err
					}
				} else {
					splices = append(splices, splice{at: len(dst), sec: sec})
				}
			case flexible:
				dst = kbin.AppendCompactNullableBytes(dst, p.RecordBatches)
			default:
				dst = kbin.AppendNullableBytes(dst, p.RecordBatches)
			}
			if flexible {
				dst = appendPartitionTags(dst, p)
			}
		}
		if flexible {
			dst = append(dst, 0) // topic tags
		}
	}
	if flexible {
		dst = append(dst, 0) // response tags (node endpoints come in v16)
	}
	return dst, splices, nil
}

// appendPartitionTags writes the tagged fields that differ from their
// defaults: diverging epoch (0), current leader (1), snapshot id (2).
func appendPartitionTags(dst []byte, p *kmsg.FetchResponseTopicPartition) []byte {
	diverging := p.DivergingEpoch.Epoch != -1 || p.DivergingEpoch.EndOffset != -1
	leader := p.CurrentLeader.LeaderID != -1 || p.CurrentLeader.LeaderEpoch != -1
	snapshot := p.SnapshotID.EndOffset != -1 || p.SnapshotID.Epoch != -1
	n := 0
	for _, b := range []bool{diverging, leader, snapshot} {
		if b {
			n++
		}
	}
	dst = kbin.AppendUvarint(dst, uint32(n))
	if diverging {
		dst = append(dst, 0, 13) // tag 0, 13 bytes: int32, int64, no tags
		dst = kbin.AppendInt32(dst, p.DivergingEpoch.Epoch)
		dst = kbin.AppendInt64(dst, p.DivergingEpoch.EndOffset)
		dst = append(dst, 0)
	}
	if leader {
		dst = append(dst, 1, 9) // tag 1, 9 bytes: int32, int32, no tags
		dst = kbin.AppendInt32(dst, p.CurrentLeader.LeaderID)
		dst = kbin.AppendInt32(dst, p.CurrentLeader.LeaderEpoch)
		dst = append(dst, 0)
	}
	if snapshot {
		dst = append(dst, 2, 13) // tag 2, 13 bytes: int64, int32, no tags
		dst = kbin.AppendInt64(dst, p.SnapshotID.EndOffset)
		dst = kbin.AppendInt32(dst, p.SnapshotID.Epoch)
		dst = append(dst, 0)
	}
	return dst
}

// inlineFetchMax is the largest amount of record data a Fetch response
// copies through user space rather than sendfile. Small responses are the
// common case of a consumer that keeps up (e2e latency): one pread and one
// write cost less, and go out sooner, than a write of the head, a
// sendfile and a write of the tail, each a syscall. Large responses
// (catching up) go by sendfile, where not copying pays.
const inlineFetchMax = 32 << 10

// writeFetch writes a whole Fetch response frame: the encoded parts from
// the connection's buffer, the record sets from the log files by sendfile
// (or, for small responses, read into the buffer).
func (c *conn) writeFetch(hdr requestHeader, resp *handlers.FetchResponse) error {
	out := c.out[:0]
	out = append(out, 0, 0, 0, 0) // frame size, set below
	out = binary.BigEndian.AppendUint32(out, uint32(hdr.correlationID))
	if hdr.version >= 12 {
		out = append(out, 0) // response header tags
	}
	var data int64
	for _, secs := range resp.Sections {
		for _, sec := range secs {
			data += sec.Size
		}
	}
	var err error
	c.splices = c.splices[:0]
	if out, c.splices, err = appendFetchBody(out, resp, c.splices, data <= inlineFetchMax); err != nil {
		return err
	}
	size := int64(len(out) - 4)
	for _, s := range c.splices {
		size += s.sec.Size
	}
	if size > 1<<31-1 {
		return fmt.Errorf("fetch response of %d bytes", size)
	}
	binary.BigEndian.PutUint32(out, uint32(size))
	c.out = out
	prev := 0
	for _, s := range c.splices {
		if _, err := c.w.Write(out[prev:s.at]); err != nil {
			return err
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		if _, err := s.sec.WriteTo(c.nc); err != nil {
			return err
		}
		prev = s.at
	}
	_, err = c.w.Write(out[prev:])
	return err
}
