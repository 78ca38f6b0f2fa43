//go:build linux

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A clean restart of an idle log rewrites none of its files: with 10,000
// partitions every rewrite is 10,000 file replacements at each restart.
func TestIdleRestartRewritesNothing(t *testing.T) {
	dir := t.TempDir()
	inodes := func() map[string]string {
		out := map[string]string{}
		ents, err := os.ReadDir(filepath.Join(dir, "t-0"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			st := info.Sys().(*syscall.Stat_t)
			// Inode numbers are reused at once; the change time is not.
			out[e.Name()] = fmt.Sprint(st.Ino, "@", st.Ctim.Nano())
		}
		return out
	}
	for _, records := range []int{0, 3} { // an empty log, and one with data
		m := openTestManager(t, dir, nil)
		l, err := m.Open(tp0, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AssignEpochStart(0, l.LogEndOffset()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < records; i++ {
			mustAppend(t, l, makeBatch(batchSpec{n: 1, pid: 7, seq: int32(i)}))
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		before := inodes()
		for restart := 0; restart < 2; restart++ {
			m = openTestManager(t, dir, nil)
			l, err = m.Open(tp0, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.AssignEpochStart(0, l.LogEndOffset()); err != nil { // as the partition does
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if after := inodes(); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("%d records: restart %d replaced files: before %v, after %v", records, restart, before, after)
			}
		}
	}
}
