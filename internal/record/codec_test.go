package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

var allCodecs = []struct {
	name  string
	codec int
}{
	{"none", CodecNone},
	{"gzip", CodecGzip},
	{"snappy", CodecSnappy},
	{"lz4", CodecLZ4},
	{"zstd", CodecZstd},
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCodecRoundTrip(t *testing.T) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{7}},
		{"text", []byte("hello, hello, hello kafka wire")},
		{"random 100KiB", randomBytes(1, 100<<10)},
		{"zeros 1MiB", make([]byte, 1<<20)},
		// Crosses the 32 KiB xerial chunk and the 64 KiB lz4 block.
		{"mixed 200KiB", append(bytes.Repeat([]byte("abcdefgh"), 10<<10), randomBytes(2, 120<<10)...)},
	}
	for _, c := range allCodecs {
		for _, in := range inputs {
			t.Run(c.name+"/"+in.name, func(t *testing.T) {
				prefix := []byte("keep")
				comp, err := Compress(append([]byte(nil), prefix...), in.data, c.codec)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(comp, prefix) {
					t.Fatal("Compress did not append to dst")
				}
				comp = comp[len(prefix):]
				got, err := Decompress(append([]byte(nil), prefix...), comp, c.codec, len(in.data))
				if err != nil {
					t.Fatalf("Decompress at exact limit: %v", err)
				}
				if !bytes.Equal(got, append(prefix, in.data...)) {
					t.Fatalf("round trip mismatch: got %d bytes, want %d", len(got)-len(prefix), len(in.data))
				}
				if len(in.data) > 0 {
					_, err := Decompress(nil, comp, c.codec, len(in.data)-1)
					if !errors.Is(err, ErrTooLarge) {
						t.Fatalf("limit one below the size: err = %v, want ErrTooLarge", err)
					}
				}
			})
		}
	}
}

// TestDecompressForeignFormats decodes what other Kafka clients produce,
// made here with the codec libraries directly rather than with Compress.
func TestDecompressForeignFormats(t *testing.T) {
	data := append(bytes.Repeat([]byte("strata "), 20000), randomBytes(3, 50000)...)
	gz := func(members ...[]byte) []byte {
		var buf bytes.Buffer
		for _, m := range members {
			w := gzip.NewWriter(&buf)
			w.Write(m)
			w.Close()
		}
		return buf.Bytes()
	}
	lz := func(opts ...lz4.Option) []byte {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(opts...); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		return buf.Bytes()
	}
	zs := func(opts ...zstd.EOption) []byte {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		return buf.Bytes()
	}
	half := len(data) / 2
	tests := []struct {
		name  string
		codec int
		comp  []byte
	}{
		{"gzip one member", CodecGzip, gz(data)},
		{"gzip two members", CodecGzip, gz(data[:half], data[half:])},
		{"snappy raw block (librdkafka, franz-go)", CodecSnappy, snappy.Encode(nil, data)},
		{"snappy xerial (java)", CodecSnappy, xerial.Encode(nil, data)},
		{"lz4 4MiB blocks with checksums", CodecLZ4, lz(lz4.BlockChecksumOption(true))},
		{"lz4 64KiB blocks", CodecLZ4, lz(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false))},
		{"zstd stream, unknown size", CodecZstd, zs()},
		{"zstd stream, 8MiB window", CodecZstd, zs(zstd.WithWindowSize(8 << 20))},
		{"zstd two frames", CodecZstd, append(zstdEncoder().EncodeAll(data[:half], nil), zstdEncoder().EncodeAll(data[half:], nil)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decompress(nil, tt.comp, tt.codec, len(data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d", len(got), len(data))
			}
		})
	}
}

// TestCompressIsReadableByOthers checks our output with decoders that are
// not ours: xerial framing by klauspost's xerial package, the rest by the
// plain library readers.
func TestCompressIsReadableByOthers(t *testing.T) {
	data := append(bytes.Repeat([]byte("offsets "), 10000), randomBytes(4, 70000)...)
	for _, c := range allCodecs[1:] {
		t.Run(c.name, func(t *testing.T) {
			comp, err := Compress(nil, data, c.codec)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch c.codec {
			case CodecGzip:
				r, err := gzip.NewReader(bytes.NewReader(comp))
				if err != nil {
					t.Fatal(err)
				}
				got, err = readAll(r)
				if err != nil {
					t.Fatal(err)
				}
			case CodecSnappy:
				if !bytes.HasPrefix(comp, []byte("\x82SNAPPY\x00")) {
					t.Fatal("snappy output lacks the xerial magic the Java client writes")
				}
				if got, err = xerial.Decode(comp); err != nil {
					t.Fatal(err)
				}
			case CodecLZ4:
				if got, err = readAll(lz4.NewReader(bytes.NewReader(comp))); err != nil {
					t.Fatal(err)
				}
				// FLG byte: version 01, block independence set, no
				// checksums, as Kafka's Java LZ4 reader requires.
				if flg := comp[4]; flg != 0x60 {
					t.Fatalf("lz4 FLG = %#x, want 0x60", flg)
				}
			case CodecZstd:
				d, err := zstd.NewReader(nil)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				if got, err = d.DecodeAll(comp, nil); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d", len(got), len(data))
			}
		})
	}
}

func readAll(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func TestDecompressCorrupt(t *testing.T) {
	good := map[int][]byte{}
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, c := range allCodecs[1:] {
		good[c.codec], _ = Compress(nil, data, c.codec)
	}
	xerialHeader := append([]byte("\x82SNAPPY\x00"), 0, 0, 0, 1, 0, 0, 0, 1)
	tests := []struct {
		name  string
		codec int
		comp  []byte
	}{
		{"unknown codec", 5, []byte("x")},
		{"gzip garbage", CodecGzip, []byte("not gzip at all")},
		{"gzip empty", CodecGzip, nil},
		{"gzip truncated", CodecGzip, good[CodecGzip][:len(good[CodecGzip])/2]},
		{"gzip trailing garbage", CodecGzip, append(bytes.Clone(good[CodecGzip]), "junk"...)},
		{"snappy empty", CodecSnappy, nil},
		{"snappy garbage", CodecSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"snappy truncated raw block", CodecSnappy, snappy.Encode(nil, data)[:20]},
		{"snappy s2 repeat extension", CodecSnappy, []byte{0x10, 0x08, 'a', 0x01, 0x00}},
		{"xerial chunk length overruns", CodecSnappy, append(bytes.Clone(xerialHeader), 0, 0, 1, 0, 1, 2, 3)},
		{"xerial chunk length negative", CodecSnappy, append(bytes.Clone(xerialHeader), 0xff, 0xff, 0xff, 0xff, 1)},
		{"xerial truncated length", CodecSnappy, append(bytes.Clone(xerialHeader), 0, 0)},
		{"xerial bad chunk", CodecSnappy, append(bytes.Clone(xerialHeader), 0, 0, 0, 2, 0xff, 0xff)},
		{"lz4 garbage", CodecLZ4, []byte("not an lz4 frame")},
		{"lz4 empty", CodecLZ4, nil},
		{"lz4 truncated", CodecLZ4, good[CodecLZ4][:len(good[CodecLZ4])-6]},
		{"zstd garbage", CodecZstd, []byte("not a zstd frame")},
		{"zstd truncated", CodecZstd, good[CodecZstd][:len(good[CodecZstd])/2]},
		// Found by FuzzReadRecords: a declared content size of 0 with
		// content behind it made the retry loop spin.
		{"zstd content size 0 with content", CodecZstd, append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x21, 0x03, 0x00}, make([]byte, 100)...)},
		{"zstd content size 1 with more", CodecZstd, append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x01, 0x21, 0x03, 0x00}, make([]byte, 100)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decompress(nil, tt.comp, tt.codec, 1<<20)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestDecompressBombs feeds inputs that decompress (or claim to) to far
// more than the limit: each must fail with ErrTooLarge, and cost about the
// limit in memory, not the claimed size.
func TestDecompressBombs(t *testing.T) {
	const limit = 1 << 20
	zeros := make([]byte, 64<<20)
	xerialHuge := append([]byte("\x82SNAPPY\x00"), 0, 0, 0, 1, 0, 0, 0, 1)
	xerialHuge = binary.BigEndian.AppendUint32(xerialHuge, 6)
	xerialHuge = append(xerialHuge, 0xff, 0xff, 0xff, 0xff, 0x0f, 0) // claims 4 GiB
	// A zstd frame header claiming 1 TiB of content, then one RLE block.
	zstdClaim := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0} // magic; FHD: 8-byte FCS, single segment
	zstdClaim = binary.LittleEndian.AppendUint64(zstdClaim, 1<<40)
	zstdClaim = append(zstdClaim, 0x23, 0x03, 0x00, 'a') // last block: RLE, 100 bytes of 'a'
	tests := []struct {
		name  string
		codec int
		comp  []byte
	}{
		{"raw snappy claiming 4GiB", CodecSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}},
		{"xerial chunk claiming 4GiB", CodecSnappy, xerialHuge},
		{"zstd frame claiming 1TiB", CodecZstd, zstdClaim},
	}
	for _, c := range allCodecs[1:] {
		comp, _ := Compress(nil, zeros, c.codec)
		tests = append(tests, struct {
			name  string
			codec int
			comp  []byte
		}{c.name + " 64MiB of zeros", c.codec, comp})
	}
	// A zstd stream does not declare its size: decoding must be cut off.
	var zstream bytes.Buffer
	zw, _ := zstd.NewWriter(&zstream)
	zw.Write(zeros)
	zw.Close()
	var fh zstd.Header
	if err := fh.Decode(zstream.Bytes()); err != nil || fh.HasFCS {
		t.Fatalf("zstd stream header: %+v, %v; want no content size", fh, err)
	}
	tests = append(tests, struct {
		name  string
		codec int
		comp  []byte
	}{"zstd stream of 64MiB zeros, no content size", CodecZstd, zstream.Bytes()})
	zeros = nil
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decompress(nil, tt.comp, tt.codec, limit)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Fatalf("allocated %d bytes for a %d byte limit", alloc, limit)
			}
		})
	}
}

// stuckReader never makes progress.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

// oneByteReader yields one byte per call, with empty reads between.
type oneByteReader struct {
	data []byte
	odd  bool
}

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.odd = !r.odd; r.odd {
		return 0, nil
	}
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

func TestReadAllBoundedProgress(t *testing.T) {
	if _, err := readAllBounded(nil, stuckReader{}, 100, 0, "test"); !errors.Is(err, io.ErrNoProgress) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("stuck reader: %v", err)
	}
	// Empty reads between real ones are fine, however many in total.
	data := randomBytes(5, 1000)
	got, err := readAllBounded(nil, &oneByteReader{data: data}, 1000, 0, "test")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("slow reader: %d bytes, %v", len(got), err)
	}
}
