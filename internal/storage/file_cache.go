package storage

// Segment .log files are opened lazily and kept open in a bounded cache
// shared by all logs of a Manager, so 10,000 partitions with many segments
// each do not need one file descriptor per segment. Index files are never
// kept open: they are read whole into memory (see index_cache.go) and
// written with open/write/close.
//
// Eviction and deletion never close a file at once: an *os.File handed out
// in a ReadResult may still be in use by a fetch that is writing it to a
// socket. Evicted files are closed after fileCloseGrace, deleted segments
// after file.delete.delay.ms (see reaper).

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fileCloseGrace is how long an evicted file stays open for ReadResults
// handed out before its eviction.
const fileCloseGrace = 30 * time.Second

// segFile is the lazily opened .log file of one segment.
type segFile struct {
	f     atomic.Pointer[os.File] // nil when not open
	clock clockSlot               // place in fileCache.mu.open

	mu struct {
		sync.Mutex
		path string // current name (renamed to *.deleted on deletion)
		dead bool   // closed for good: the segment's files are gone
	}
}

func (sf *segFile) clockSlot() *clockSlot { return &sf.clock }

func newSegFile(path string) *segFile {
	sf := &segFile{clock: newClockSlot()}
	sf.mu.path = path
	return sf
}

func (sf *segFile) path() string {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.mu.path
}

// fileCache bounds the number of open segment files with a clock (second
// chance) policy: get sets a segment's bit without a lock, eviction sweeps.
type fileCache struct {
	limit  int
	reaper *reaper

	mu struct {
		sync.Mutex
		open clockRing[*segFile]
	}
}

// defaultMaxOpenFiles leaves half of the process's descriptor limit to
// sockets and everything else.
func defaultMaxOpenFiles() int {
	var rl syscall.Rlimit
	limit := 1024
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<30 {
		limit = int(rl.Cur)
	}
	limit /= 2
	return min(max(limit, 16), 16384)
}

func newFileCache(limit int, r *reaper) *fileCache {
	return &fileCache{limit: limit, reaper: r}
}

// get returns the segment's open file, opening it if needed. The file stays
// usable for at least fileCloseGrace after a concurrent eviction.
func (c *fileCache) get(sf *segFile) (*os.File, error) {
	if f := sf.f.Load(); f != nil {
		sf.clock.touch()
		return f, nil
	}
	sf.mu.Lock()
	if sf.mu.dead {
		sf.mu.Unlock()
		return nil, fmt.Errorf("%w: segment file %s was deleted", ErrOffsetOutOfRange, sf.mu.path)
	}
	f := sf.f.Load()
	if f == nil {
		var err error
		f, err = os.OpenFile(sf.mu.path, os.O_RDWR, 0)
		if err != nil {
			sf.mu.Unlock()
			return nil, err
		}
		sf.f.Store(f)
	}
	sf.clock.used.Store(true)
	sf.mu.Unlock()
	c.register(sf)
	return f, nil
}

// register adds an opened file to the cache, evicting others over the limit.
// NB: never called with sf.mu held (lock order: segFile.mu before fileCache.mu
// is forbidden in the other direction, see evict).
func (c *fileCache) register(sf *segFile) {
	var victims []*segFile
	c.mu.Lock()
	c.mu.open.add(sf)
	for c.mu.open.len() > c.limit {
		v, ok := c.mu.open.victim(sf)
		if !ok {
			break
		}
		c.mu.open.remove(v)
		victims = append(victims, v)
	}
	c.mu.Unlock()
	for _, v := range victims {
		v.mu.Lock()
		f := v.f.Swap(nil)
		v.mu.Unlock()
		if f != nil {
			c.reaper.closeLater(f, fileCloseGrace)
		}
	}
}

// closeIdle closes the files not used since the previous call (their clock
// bit is clear) and clears the bit of the others, so a file idle for one to
// two calls' interval is closed: descriptors follow the partitions in use,
// not every partition ever touched. A closed file reopens on its next use.
func (c *fileCache) closeIdle() int {
	var idle []*segFile
	c.mu.Lock()
	for _, sf := range c.mu.open.items {
		if sf.clock.used.Load() {
			sf.clock.used.Store(false)
		} else {
			idle = append(idle, sf)
		}
	}
	for _, sf := range idle {
		c.mu.open.remove(sf)
	}
	c.mu.Unlock()
	for _, sf := range idle {
		sf.mu.Lock()
		f := sf.f.Swap(nil)
		sf.mu.Unlock()
		if f != nil {
			c.reaper.closeLater(f, fileCloseGrace)
		}
	}
	return len(idle)
}

// forget removes sf from the cache and returns its open file, if any, which
// the caller now owns.
func (c *fileCache) forget(sf *segFile) *os.File {
	sf.mu.Lock()
	f := sf.f.Swap(nil)
	sf.mu.Unlock()
	c.mu.Lock()
	c.mu.open.remove(sf)
	c.mu.Unlock()
	return f
}

// openCount is the number of cached open files (for tests).
func (c *fileCache) openCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.open.len()
}

// reaper runs delayed work: closing evicted files and removing deleted
// segments once no read can still need them. The Manager's background loop
// calls run; Manager.Close calls runAll.
type reaper struct {
	maxPending int

	mu struct {
		sync.Mutex
		items []reapItem // in order of addition
	}
}

type reapItem struct {
	due time.Time
	f   *os.File // closed when due, or
	fn  func()   // run when due
}

func (r *reaper) closeLater(f *os.File, after time.Duration) {
	r.add(reapItem{due: time.Now().Add(after), f: f})
}

func (r *reaper) doLater(after time.Duration, fn func()) {
	r.add(reapItem{due: time.Now().Add(after), fn: fn})
}

func (r *reaper) add(it reapItem) {
	var early []reapItem
	r.mu.Lock()
	r.mu.items = append(r.mu.items, it)
	// NB: under eviction churn, bound the descriptors waiting out their
	// grace: close the oldest evicted files early rather than run out.
	if r.maxPending > 0 && len(r.mu.items) > r.maxPending {
		keep := r.mu.items[:0]
		excess := len(r.mu.items) - r.maxPending
		for _, x := range r.mu.items {
			if excess > 0 && x.f != nil {
				early = append(early, x)
				excess--
				continue
			}
			keep = append(keep, x)
		}
		r.mu.items = keep
	}
	r.mu.Unlock()
	for _, x := range early {
		x.f.Close()
	}
}

// run does the work that is due at now.
func (r *reaper) run(now time.Time) {
	var due []reapItem
	r.mu.Lock()
	keep := r.mu.items[:0]
	for _, it := range r.mu.items {
		if !it.due.After(now) {
			due = append(due, it)
		} else {
			keep = append(keep, it)
		}
	}
	clear(r.mu.items[len(keep):])
	r.mu.items = keep
	r.mu.Unlock()
	for _, it := range due {
		it.exec()
	}
}

// runAll does all pending work now.
func (r *reaper) runAll() {
	r.mu.Lock()
	items := r.mu.items
	r.mu.items = nil
	r.mu.Unlock()
	for _, it := range items {
		it.exec()
	}
}

func (it reapItem) exec() {
	if it.f != nil {
		it.f.Close()
	}
	if it.fn != nil {
		it.fn()
	}
}
