package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errFrame means a frame could not be parsed; the connection is closed.
var errFrame = errors.New("malformed request frame")

// requestHeader is the part of a request before its body.
type requestHeader struct {
	key           int16
	version       int16
	correlationID int32
	clientID      string
}

// readFrame reads one size-prefixed frame into a buffer from the frame
// pool. A size below the smallest header or above maxSize is an error: the
// frame is not read. The caller gives the buffer back with releaseFrame
// once nothing refers to it any more.
func readFrame(r io.Reader, sizeBuf []byte, maxSize int32) ([]byte, error) {
	if _, err := io.ReadFull(r, sizeBuf[:4]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:4]))
	if size < 10 { // key, version, correlation id, client id length
		return nil, fmt.Errorf("%w: size %d", errFrame, size)
	}
	if size > maxSize {
		return nil, fmt.Errorf("%w: size %d exceeds socket.request.max.bytes %d", errFrame, size, maxSize)
	}
	buf := getFrame(int(size))
	if _, err := io.ReadFull(r, buf); err != nil {
		releaseFrame(buf)
		return nil, err
	}
	return buf, nil
}

// Frame buffers of produce requests are large (up to a megabyte per
// partition batch) and arrive back to back; allocating each anew cost
// more CPU than anything but the syscalls (the runtime zeroes every new
// buffer, and the GC then scans for and frees them). They are pooled by
// power-of-two size class instead. sync.Pool drops idle buffers at GC, so
// an idle broker does not keep them.
//
// NB: a buffer may only be released when no decoded request still points
// into it: kmsg decodes byte fields (record sets, group metadata) as
// slices of the frame. conn releases only frames of APIs whose handlers
// are known to copy what they keep (see reusableFrame).
const (
	minPooledFrame = 4 << 10  // smaller frames are cheap to allocate
	maxPooledFrame = 16 << 20 // larger ones are rare; not worth holding
)

var framePools [25]sync.Pool // indexed by frameClass; 1<<24 == maxPooledFrame

// frameClass is the pool index of a size: the power of two >= size.
func frameClass(size int) int { return bits.Len(uint(size - 1)) }

func getFrame(size int) []byte {
	if size < minPooledFrame || size > maxPooledFrame {
		return make([]byte, size)
	}
	c := frameClass(size)
	if p, ok := framePools[c].Get().(*[]byte); ok {
		return (*p)[:size]
	}
	return make([]byte, size, 1<<c)
}

// releaseFrame returns buf (from getFrame) to its pool.
func releaseFrame(buf []byte) {
	c := cap(buf)
	if c < minPooledFrame || c > maxPooledFrame || c&(c-1) != 0 {
		return
	}
	buf = buf[:0]
	framePools[frameClass(c)].Put(&buf)
}

// parseHeader decodes the fixed part of a request header (v1) at the start
// of frame and returns the rest. Flexible requests follow it with tagged
// fields (header v2), which skipHeaderTags removes once the version is
// known to be flexible.
func parseHeader(frame []byte) (requestHeader, []byte, error) {
	var h requestHeader
	rd := kbin.Reader{Src: frame}
	h.key = rd.Int16()
	h.version = rd.Int16()
	h.correlationID = rd.Int32()
	if cid := rd.NullableString(); cid != nil {
		h.clientID = *cid
	}
	if !rd.Ok() {
		return h, nil, fmt.Errorf("%w: truncated header", errFrame)
	}
	return h, rd.Src, nil
}

// skipHeaderTags skips the tagged fields of a flexible (v2) request header.
func skipHeaderTags(body []byte) ([]byte, error) {
	rd := kbin.Reader{Src: body}
	for n := rd.Uvarint(); n > 0 && rd.Ok(); n-- {
		rd.Uvarint()               // tag
		rd.Span(int(rd.Uvarint())) // value
	}
	if !rd.Ok() {
		return nil, fmt.Errorf("%w: truncated header tags", errFrame)
	}
	return rd.Src, nil
}

// appendResponse appends a whole response frame (size, header, body).
// ApiVersions responses always use header v0 (no tags) so that a client
// that does not yet know our versions can read them.
func appendResponse(dst []byte, correlationID int32, key int16, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && key != 18 {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
