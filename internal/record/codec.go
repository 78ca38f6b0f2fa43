package record

// Compression codecs of v2 batches. The records part of a batch (everything
// after the 61-byte header) is compressed as one unit with the codec named
// by the low three attribute bits.
//
// Decompression is always bounded by a caller-given output limit: a batch is
// untrusted input, and a few kilobytes of zstd or gzip can claim gigabytes.
// Going over the limit is ErrTooLarge, not ErrCorrupt, so a caller can tell
// "this broker will not decode it" from "these bytes are broken".
//
// The codec state (gzip and lz4 readers and writers, the zstd decoder and
// encoder) is expensive to create, so it is pooled at package level. That is
// the only package-level state here, and it holds no configuration.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// ErrTooLarge means a batch's records decompress to more bytes than the
// caller allowed. The batch may be valid; it is just too big to decode here.
var ErrTooLarge = errors.New("record: decompressed records exceed the limit")

// Decompress appends the decompressed form of src, compressed with codec, to
// dst and returns the extended slice. At most limit bytes are appended: more
// fails with ErrTooLarge. Bytes that are not valid for the codec fail with
// an error wrapping ErrCorrupt. CodecNone copies src.
func Decompress(dst, src []byte, codec int, limit int) ([]byte, error) {
	limit = max(limit, 0)
	switch codec {
	case CodecNone:
		if len(src) > limit {
			return dst, ErrTooLarge
		}
		return append(dst, src...), nil
	case CodecGzip:
		return gunzip(dst, src, limit)
	case CodecSnappy:
		return unsnappy(dst, src, limit)
	case CodecLZ4:
		return unlz4(dst, src, limit)
	case CodecZstd:
		return unzstd(dst, src, limit)
	default:
		return dst, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
}

// Compress appends the compressed form of src to dst, in the format Kafka's
// own clients produce for codec, and returns the extended slice. It fails
// only for an unknown codec.
func Compress(dst, src []byte, codec int) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		return gzipCompress(dst, src), nil
	case CodecSnappy:
		return snappyCompress(dst, src), nil
	case CodecLZ4:
		return lz4Compress(dst, src), nil
	case CodecZstd:
		return zstdEncoder().EncodeAll(src, dst), nil
	default:
		return dst, fmt.Errorf("record: unknown compression codec %d", codec)
	}
}

// corruptf wraps a codec library's error as ErrCorrupt.
func corruptf(codec string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, codec, err)
}

// appendWriter is an io.Writer appending to a byte slice, so that streaming
// compressors can write straight into the caller's dst.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// readAllBounded appends all of r to dst, failing with ErrTooLarge as soon
// as more than limit bytes have arrived. hint is a guess of the output size;
// the buffer never grows past limit+1 new bytes (that one byte tells "exactly
// limit" from "more"), so a bomb costs at most limit bytes of memory.
func readAllBounded(dst []byte, r io.Reader, limit, hint int, codec string) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, min(max(hint, 512), limit+1))
	for empty := 0; ; {
		if len(dst) == cap(dst) {
			read := len(dst) - start
			dst = slices.Grow(dst, min(max(read, 4096), limit+1-read))
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		switch {
		case n > 0:
			empty = 0
		case err == nil:
			// A reader that stops making progress must not spin forever.
			if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
		}
		if len(dst)-start > limit {
			return dst[:start], ErrTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], corruptf(codec, err)
		}
	}
}

// gzip

var gzipReaders sync.Pool // *gzip.Reader

func gunzip(dst, src []byte, limit int) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer gzipReaders.Put(zr)
	// NB: Reset reads the first member's header; Kafka allows concatenated
	// members (Java's GZIPInputStream reads them all), and so does the
	// reader's default multistream mode.
	if err := zr.Reset(bytes.NewReader(src)); err != nil {
		return dst, corruptf("gzip", err)
	}
	return readAllBounded(dst, zr, limit, 4*len(src), "gzip")
}

var gzipWriters = sync.Pool{New: func() any {
	// Java's GZIPOutputStream uses the default level too.
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return w
}}

func gzipCompress(dst, src []byte) []byte {
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	out := appendWriter{b: dst}
	zw.Reset(&out)
	// Writes to an appendWriter cannot fail.
	_, _ = zw.Write(src)
	_ = zw.Close()
	return out.b
}

// snappy
//
// Kafka batches carry snappy in one of two shapes: a raw snappy block
// (librdkafka, franz-go, sarama), or xerial's snappy-java stream framing
// (the Java client): an 8-byte magic, two big-endian int32 versions, then
// chunks, each a big-endian int32 length and a raw snappy block.

var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16 // magic, version, compatible version
	// xerialChunkSize is the uncompressed size of one chunk we write, the
	// block size snappy-java uses by default.
	xerialChunkSize = 32 << 10
	// snappyMaxExpansion bounds how many bytes one compressed byte of a
	// standard snappy block can become: the best op is a 3-byte copy of 64
	// bytes. A longer claimed length cannot be honest, so it is refused
	// before anything is allocated for it.
	snappyMaxExpansion = 22
)

func unsnappy(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < xerialHeaderSize || !bytes.Equal(src[:len(xerialMagic)], xerialMagic) {
		return snappyBlock(dst, src, limit)
	}
	// NB: the versions are not checked; every reader in the Kafka world
	// ignores them, and snappy-java has only ever written 1 and 1.
	start := len(dst)
	rest := src[xerialHeaderSize:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return dst[:start], fmt.Errorf("%w: snappy: truncated xerial chunk length", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return dst[:start], fmt.Errorf("%w: snappy: xerial chunk of %d bytes overruns its %d", ErrCorrupt, n, len(rest))
		}
		var err error
		dst, err = snappyBlock(dst, rest[:n], limit-(len(dst)-start))
		if err != nil {
			return dst[:start], err
		}
		rest = rest[n:]
	}
	return dst, nil
}

// snappyBlock appends the decoding of one raw snappy block to dst.
func snappyBlock(dst, src []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return dst, corruptf("snappy", err)
	}
	if n > limit {
		return dst, ErrTooLarge
	}
	if n > snappyMaxExpansion*len(src) {
		return dst, fmt.Errorf("%w: snappy: block of %d bytes claims %d decoded", ErrCorrupt, len(src), n)
	}
	dst = slices.Grow(dst, n)
	// NB: DecodeStrict, not Decode: Decode also accepts S2's extensions,
	// which no Kafka client can read and which would break the expansion
	// bound above.
	out, err := snappy.DecodeStrict(dst[len(dst):len(dst)+n], src)
	if err != nil {
		return dst, corruptf("snappy", err)
	}
	return append(dst, out...), nil // out aliases dst's spare room: a no-op copy
}

// snappyCompress writes the xerial framing, as the Java producer does: it is
// the one shape that every Kafka client decodes.
func snappyCompress(dst, src []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1) // version
	dst = binary.BigEndian.AppendUint32(dst, 1) // compatible version
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialChunkSize)]
		src = src[len(chunk):]
		bound := snappy.MaxEncodedLen(len(chunk))
		lenAt := len(dst)
		dst = slices.Grow(dst, 4+bound)
		enc := snappy.Encode(dst[lenAt+4:lenAt+4+bound], chunk)
		dst = append(dst[:lenAt+4], enc...)
		binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(enc)))
	}
	return dst
}

// lz4: the LZ4 frame format (Kafka fixed its frame header checksum for
// message format v1 onwards, so v2 batches hold standard frames).

// lz4MinFrame is the magic (4), the FLG and BD bytes and the descriptor
// checksum (1), and the end mark (4).
const lz4MinFrame = 11

var lz4Readers = sync.Pool{New: func() any { return lz4.NewReader(nil) }}

func unlz4(dst, src []byte, limit int) ([]byte, error) {
	// NB: the reader takes empty input for an empty stream; Kafka's does
	// not, and a frame is never shorter than its magic and descriptor.
	if len(src) < lz4MinFrame {
		return dst, fmt.Errorf("%w: lz4: %d bytes is too short for a frame", ErrCorrupt, len(src))
	}
	zr := lz4Readers.Get().(*lz4.Reader)
	defer lz4Readers.Put(zr)
	// The reader's memory is one block, at most 4 MiB by the frame format.
	zr.Reset(bytes.NewReader(src))
	out, err := readAllBounded(dst, zr, limit, 4*len(src), "lz4")
	zr.Reset(nil) // drop the reference to src
	return out, err
}

var lz4Writers = sync.Pool{New: func() any {
	zw := lz4.NewWriter(nil)
	// 64 KiB independent blocks and no content checksum: what Kafka's Java
	// client writes, and what its reader insists on (independent blocks).
	_ = zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false))
	return zw
}}

func lz4Compress(dst, src []byte) []byte {
	zw := lz4Writers.Get().(*lz4.Writer)
	defer lz4Writers.Put(zw)
	out := appendWriter{b: dst}
	zw.Reset(&out)
	_, _ = zw.Write(src)
	_ = zw.Close()
	zw.Reset(nil)
	return out.b
}

// zstd
//
// One decoder serves all goroutines: DecodeAll is safe for concurrent use.
// NB: DecodeAll writes into dst and keeps no window buffer of its own, so a
// frame declaring a huge window costs nothing; with the cap limit on it never
// writes past cap(dst) (give or take one block), which is how the caller's
// limit is enforced without allocating the whole limit up front.

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderLowmem(true))
	if err != nil {
		panic(fmt.Sprintf("record: zstd decoder options: %v", err)) // constant options: cannot happen
	}
	return d
})

var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	// The default level is zstd's level 3, Kafka's default too.
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(0))
	if err != nil {
		panic(fmt.Sprintf("record: zstd encoder options: %v", err))
	}
	return e
})

func unzstd(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	// First guess of the output size: the frame's content size when it
	// declares one (the usual case for small inputs), else a multiple of
	// the input. When the guess is too small, decode again with twice the
	// room, up to the limit: at most doubling the work, never the memory.
	want := min(max(4*len(src), 64<<10), limit)
	var fh zstd.Header
	if err := fh.Decode(src); err == nil && fh.HasFCS {
		if fh.FrameContentSize > uint64(limit) {
			return dst, ErrTooLarge
		}
		want = int(fh.FrameContentSize)
	}
	for {
		// NB: running out of room mid-block is reported as a generic
		// error, not ErrDecoderSizeExceeded. With a block's worth of slack
		// every block that starts within want fits, so running out of
		// room implies more than want bytes came out; an error with less
		// output than that is corruption.
		buf := slices.Grow(dst[:start], want+zstdSlack)
		out, err := zstdDecoder().DecodeAll(src, buf)
		n := len(out) - start
		switch {
		case n > limit:
			return dst[:start], ErrTooLarge
		case err == nil:
			return out, nil
		case n > want || errors.Is(err, zstd.ErrDecoderSizeExceeded):
			if want >= limit {
				return dst[:start], ErrTooLarge
			}
			// NB: a declared content size can be 0 (and a lie): grow
			// from a floor, or a zero guess would never grow.
			want = min(max(2*want, 64<<10), limit)
			dst = buf // keep the bigger buffer for the next try
		default:
			return dst[:start], corruptf("zstd", err)
		}
	}
}

// zstdSlack is one maximum-size zstd block plus the decoder's over-allocation.
const zstdSlack = 128<<10 + 1<<10
