package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ManagerOptions configure a data directory. Zero fields take the defaults
// given in their comments.
type ManagerOptions struct {
	Logger *slog.Logger     // nil = slog.Default()
	Now    func() time.Time // nil = time.Now
	// RetentionCheckInterval is log.retention.check.interval.ms (5 min).
	RetentionCheckInterval time.Duration
	// CheckpointInterval is how often the high watermark and log start
	// offset checkpoints are written
	// (replica.high.watermark.checkpoint.interval.ms, 5 s).
	CheckpointInterval time.Duration
	// RecoveryCheckpointInterval is how often the recovery points are
	// checkpointed (log.flush.offset.checkpoint.interval.ms, 60 s). After a
	// crash, recovery re-reads each log from its checkpointed recovery
	// point on: a shorter interval means less to re-read.
	RecoveryCheckpointInterval time.Duration
	// ProducerIDExpiration is producer.id.expiration.ms (1 day): idle
	// producers' idempotence state is dropped after it. Checked every
	// ProducerIDExpirationCheckInterval
	// (producer.id.expiration.check.interval.ms, 10 min).
	ProducerIDExpiration              time.Duration
	ProducerIDExpirationCheckInterval time.Duration
	// FlushCheckInterval is how often logs are checked against flush.ms
	// (log.flush.scheduler.interval.ms; 1 s).
	FlushCheckInterval time.Duration
	// MaxOpenFiles bounds the segment files open at once: those cached
	// plus those evicted and still waiting out fileCloseGrace, a quarter of
	// the bound (default: half the process's RLIMIT_NOFILE, at most 16384).
	MaxOpenFiles int
	// SyncFile, if set, replaces the fdatasync that makes a segment file's
	// data durable: for tests that need to see when an append waits for
	// it, and for fault injection.
	SyncFile func(*os.File) error
	// IdleFileInterval is how often segment files unused since the last
	// look are closed (2 min): a file idle for one to two intervals goes.
	IdleFileInterval time.Duration
	// IndexCacheBytes bounds the memory of closed segments' indexes loaded
	// for reads (64 MiB).
	IndexCacheBytes int64
	// DisableCleaner is log.cleaner.enable=false: compacted logs are not
	// compacted (they grow).
	DisableCleaner bool
	// CleanerBackoff is log.cleaner.backoff.ms (15 s): how long the
	// cleaner sleeps when no log needs cleaning.
	CleanerBackoff time.Duration
	// DedupeBufferSize is log.cleaner.dedupe.buffer.size (128 MiB): the
	// most memory the cleaner's offset map takes, 24 bytes per key.
	DedupeBufferSize int64
}

// storeEnv is what the logs of one Manager share.
type storeEnv struct {
	logger   *slog.Logger
	now      func() time.Time
	files    *fileCache
	indexes  *indexCache
	reaper   *reaper
	flushReq chan *Log // logs that rolled: flush their finished segment
	m        *Manager
	// syncFile makes a segment file's data durable (syncData); tests
	// replace it to see when, and how often, the append path waits for it.
	syncFile func(*os.File) error
	stats    FlushStats
	dataDir  dirSyncer // fsyncs of the data directory, shared by the logs
}

// dirSyncer fsyncs one directory for many callers, group-commit style: a
// caller whose change was made before an fsync that started after it asked
// needs no fsync of its own. 10,000 partitions created and then flushed
// together fsync the data directory a few times, not 10,000 times.
type dirSyncer struct {
	asked atomic.Uint64 // tickets handed out
	mu    sync.Mutex    // held during an fsync
	done  uint64        // every ticket <= done is covered; guarded by mu
}

// sync returns once an fsync of dir that started after the call did.
func (d *dirSyncer) sync(dir string) error {
	ticket := d.asked.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done >= ticket {
		return nil
	}
	covers := d.asked.Load() // everyone who asked before this fsync starts
	if err := syncDir(dir); err != nil {
		return err
	}
	d.done = covers
	return nil
}

// FlushStats count the group commits of appends that wait for an fsync
// (flush.messages reached): AckedAfterFsync appends were acknowledged
// after one, AckFsyncs fsync rounds did it, so AckedAfterFsync/AckFsyncs
// appends shared each.
type FlushStats struct {
	ackedAfterFsync, ackFsyncs atomic.Int64
}

// Counts returns the appends acknowledged after an fsync and the fsync
// rounds that covered them.
func (s *FlushStats) Counts() (acked, fsyncs int64) {
	return s.ackedAfterFsync.Load(), s.ackFsyncs.Load()
}

func (e *storeEnv) requestFlush(l *Log) {
	select {
	case e.flushReq <- l:
	default: // the flush loop is behind; the next roll or Close flushes
	}
}

func (e *storeEnv) checkpointLogStart() error { return e.m.writeCheckpoints(ckptLogStart) }

// Manager owns one data directory: its partition logs, the per-directory
// checkpoint files, the clean-shutdown marker and the background retention,
// flush and checkpoint work.
type Manager struct {
	dir        string
	opts       ManagerOptions
	env        *storeEnv
	cleaner    *cleaner
	clean      bool             // the marker was there at open
	partitions []TopicPartition // found at open

	stop context
	wg   sync.WaitGroup

	ckptMu sync.Mutex // serializes checkpoint writes

	mu struct {
		sync.Mutex
		closed  bool
		logs    map[TopicPartition]*Log
		opening map[TopicPartition]chan struct{} // closed when the open finishes
		// Checkpointed values of logs not open in this run, kept so the
		// checkpoint files do not forget them.
		recovery, logStart, hw map[TopicPartition]int64
	}
}

// context is a stop signal for the background goroutines.
type context struct {
	done chan struct{}
	once sync.Once
}

func (c *context) cancel() { c.once.Do(func() { close(c.done) }) }

// OpenManager opens (creating if needed) a data directory. It notes whether
// the previous run shut down cleanly (and removes the marker); logs opened
// afterwards are recovered accordingly. Leftovers of interrupted partition
// deletions are removed in the background.
func OpenManager(dir string, opts ManagerOptions) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetentionCheckInterval <= 0 {
		opts.RetentionCheckInterval = 5 * time.Minute
	}
	if opts.ProducerIDExpiration <= 0 {
		opts.ProducerIDExpiration = 24 * time.Hour
	}
	if opts.ProducerIDExpirationCheckInterval <= 0 {
		opts.ProducerIDExpirationCheckInterval = 10 * time.Minute
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = 5 * time.Second
	}
	if opts.RecoveryCheckpointInterval <= 0 {
		opts.RecoveryCheckpointInterval = time.Minute
	}
	if opts.FlushCheckInterval <= 0 {
		opts.FlushCheckInterval = time.Second
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = defaultMaxOpenFiles()
	}
	if opts.IdleFileInterval <= 0 {
		opts.IdleFileInterval = 2 * time.Minute
	}
	if opts.IndexCacheBytes <= 0 {
		opts.IndexCacheBytes = defaultIndexCacheBytes
	}
	if opts.CleanerBackoff <= 0 {
		opts.CleanerBackoff = 15 * time.Second
	}
	if opts.DedupeBufferSize <= 0 {
		opts.DedupeBufferSize = 128 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &Manager{dir: dir, opts: opts, stop: context{done: make(chan struct{})}}
	// NB: the cache and the evicted files waiting to be closed share the
	// bound; with the whole bound each, 2×MaxOpenFiles could be open and a
	// broker at its RLIMIT_NOFILE would have no descriptor left for sockets.
	pending := max(opts.MaxOpenFiles/4, 1)
	r := &reaper{maxPending: pending}
	m.env = &storeEnv{
		logger:   opts.Logger.With("component", "storage"),
		now:      opts.Now,
		files:    newFileCache(max(opts.MaxOpenFiles-pending, 1), r),
		indexes:  newIndexCache(opts.IndexCacheBytes),
		reaper:   r,
		flushReq: make(chan *Log, 1024),
		m:        m,
		syncFile: syncData,
	}
	if opts.SyncFile != nil {
		m.env.syncFile = opts.SyncFile
	}
	marker := filepath.Join(dir, cleanShutdownFile)
	if _, err := os.Stat(marker); err == nil {
		m.clean = true
		if err := os.Remove(marker); err != nil {
			return nil, err
		}
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	m.mu.logs = map[TopicPartition]*Log{}
	m.mu.opening = map[TopicPartition]chan struct{}{}
	var err error
	if m.mu.recovery, err = m.readCheckpoint(recoveryPointFile); err != nil {
		return nil, err
	}
	if m.mu.logStart, err = m.readCheckpoint(logStartOffsetFile); err != nil {
		return nil, err
	}
	if m.mu.hw, err = m.readCheckpoint(highWatermarkFile); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var leftovers []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), "-delete") {
			leftovers = append(leftovers, filepath.Join(dir, e.Name()))
			continue
		}
		if tp, ok := parsePartitionDir(e.Name()); ok {
			m.partitions = append(m.partitions, tp)
		}
	}
	slices.SortFunc(m.partitions, compareTP)
	if m.cleaner, err = newCleaner(m, opts.DedupeBufferSize); err != nil {
		return nil, err
	}
	for _, p := range leftovers {
		m.removeLater(p)
	}
	m.startBackground()
	return m, nil
}

func compareTP(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// parsePartitionDir splits "<topic>-<partition>" at the last dash.
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || name[i+1] == '+' {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

func (m *Manager) partitionDir(tp TopicPartition) string {
	return filepath.Join(m.dir, fmt.Sprintf("%s-%d", tp.Topic, tp.Partition))
}

func validTopic(t string) bool {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Partitions lists the partition directories found on disk at open.
func (m *Manager) Partitions() []TopicPartition { return slices.Clone(m.partitions) }

// FlushStats are the Manager's group commit counters.
func (m *Manager) FlushStats() *FlushStats { return &m.env.stats }

// Dir is the data directory.
func (m *Manager) Dir() string { return m.dir }

// Open opens (recovering if needed) or creates the log of tp. Opening an
// open log returns it unchanged.
func (m *Manager) Open(tp TopicPartition, cfg Config) (*Log, error) {
	if !validTopic(tp.Topic) || tp.Partition < 0 {
		return nil, fmt.Errorf("%w: bad partition %q-%d", ErrInvalidRecord, tp.Topic, tp.Partition)
	}
	for {
		m.mu.Lock()
		if m.mu.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		if l := m.mu.logs[tp]; l != nil {
			m.mu.Unlock()
			return l, nil
		}
		wait, busy := m.mu.opening[tp]
		if !busy {
			break
		}
		m.mu.Unlock()
		<-wait
	}
	done := make(chan struct{})
	m.mu.opening[tp] = done
	meta := logMeta{clean: m.clean, recoveryPoint: m.mu.recovery[tp], logStart: m.mu.logStart[tp], hw: m.mu.hw[tp]}
	m.mu.Unlock()

	// Recovery can take long: no Manager lock meanwhile.
	l, err := openLog(m.env, tp, m.partitionDir(tp), cfg, meta)

	m.mu.Lock()
	delete(m.mu.opening, tp)
	close(done)
	if err == nil {
		if m.mu.closed {
			m.mu.Unlock()
			l.close(0)
			return nil, ErrClosed
		}
		m.mu.logs[tp] = l
		delete(m.mu.recovery, tp)
		delete(m.mu.logStart, tp)
		delete(m.mu.hw, tp)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s-%d: %w", tp.Topic, tp.Partition, err)
	}
	return l, nil
}

// Get returns an open log, or nil.
func (m *Manager) Get(tp TopicPartition) *Log {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.logs[tp]
}

func (m *Manager) openLogs() []*Log {
	m.mu.Lock()
	defer m.mu.Unlock()
	logs := make([]*Log, 0, len(m.mu.logs))
	for _, l := range m.mu.logs {
		logs = append(logs, l)
	}
	return logs
}

// Delete closes tp's log and removes its directory. The directory is first
// renamed to "<topic>-<partition>.<random>-delete", as Kafka does, so that a
// crash midway leaves no half-deleted partition (OpenManager removes such
// leftovers); the removal itself happens in the background.
func (m *Manager) Delete(tp TopicPartition) error {
	return m.DeleteAll([]TopicPartition{tp})
}

// DeleteAll is Delete for many partitions (a deleted topic's) with one
// fsync of the data directory and one write of the checkpoints for all of
// them: deleting a topic of 10,000 partitions one by one would write the
// three checkpoint files, each naming every partition, 10,000 times.
func (m *Manager) DeleteAll(tps []TopicPartition) error {
	var doomed []string
	var errs []error
	for _, tp := range tps {
		path, err := m.renameAway(tp, "-delete", false)
		if err != nil {
			errs = append(errs, err)
		}
		if path != "" {
			doomed = append(doomed, path)
		}
	}
	if len(doomed) == 0 {
		return errors.Join(errs...)
	}
	if err := syncDir(m.dir); err != nil {
		return errors.Join(append(errs, err)...)
	}
	m.removeLater(doomed...)
	for _, tp := range tps {
		if err := m.cleaner.forget(tp); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, m.writeCheckpoints(ckptAll))
	return errors.Join(errs...)
}

// SetAside closes tp's log and renames its directory to
// "<topic>-<partition>.<random>-stray", where it is kept but never opened
// again: for data the metadata does not account for, which an operator
// should look at rather than lose. It returns the new path ("" if there
// was no directory).
func (m *Manager) SetAside(tp TopicPartition) (string, error) {
	path, err := m.renameAway(tp, "-stray", true)
	if err != nil || path == "" {
		return path, err
	}
	if err := syncDir(m.dir); err != nil {
		return path, err
	}
	if err := m.cleaner.forget(tp); err != nil {
		return path, err
	}
	return path, m.writeCheckpoints(ckptAll)
}

// renameAway forgets tp's log, closes it (flushing it if keep, else
// dropping what is not on disk yet), and renames its directory with a
// random infix and suffix; the caller fsyncs the data directory. It returns
// the new path, "" if there was no directory.
func (m *Manager) renameAway(tp TopicPartition, suffix string, keep bool) (string, error) {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		return "", ErrClosed
	}
	for m.mu.opening[tp] != nil {
		wait := m.mu.opening[tp]
		m.mu.Unlock()
		<-wait
		m.mu.Lock()
	}
	l := m.mu.logs[tp]
	delete(m.mu.logs, tp)
	delete(m.mu.recovery, tp)
	delete(m.mu.logStart, tp)
	delete(m.mu.hw, tp)
	m.partitions = slices.DeleteFunc(m.partitions, func(p TopicPartition) bool { return p == tp })
	m.mu.Unlock()

	if l != nil {
		if keep {
			l.close(fileCloseGrace)
		} else {
			l.discard(fileCloseGrace)
		}
	}
	dir := m.partitionDir(tp)
	var rnd [8]byte
	rand.Read(rnd[:])
	to := dir + "." + hex.EncodeToString(rnd[:]) + suffix
	if err := os.Rename(dir, to); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	return to, nil
}

// removeLater removes renamed-away partition directories in the
// background.
func (m *Manager) removeLater(paths ...string) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for _, path := range paths {
			if err := os.RemoveAll(path); err != nil {
				m.env.logger.Warn("removing deleted partition", "dir", path, "err", err)
			}
		}
	}()
}

// Close flushes every log, writes producer snapshots, the checkpoints and
// the clean-shutdown marker, and stops the background work.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.mu.closed {
		m.mu.Unlock()
		return nil
	}
	m.mu.closed = true
	m.mu.Unlock()
	m.stop.cancel()
	m.wg.Wait()

	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, err := range forEachLog(m.openLogs(), func(l *Log) error { return l.close(0) }) {
		note(err)
	}
	m.env.reaper.runAll()
	note(m.writeCheckpoints(ckptAll))
	if first != nil {
		return first // no clean marker: the next start recovers
	}
	if acked, fsyncs := m.env.stats.Counts(); acked > 0 {
		m.env.logger.Info("group commit", "appends_acked_after_fsync", acked, "fsyncs", fsyncs,
			"appends_per_fsync", float64(acked)/float64(max(fsyncs, 1)))
	}
	marker := filepath.Join(m.dir, cleanShutdownFile)
	note(writeFileAtomic(marker, nil))
	return first
}
