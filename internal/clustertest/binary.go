package clustertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BinaryEnv names a prebuilt strata binary to use instead of building one
// (e.g. the e2e suite's, or `make chaos` building it once for several
// packages).
const BinaryEnv = "STRATA_BIN"

// binDir is where Main builds the binary; removed when the tests end.
var binDir string

// Main is TestMain for packages that start clusters: it gives the binary
// built for the run a directory that is removed afterwards.
//
//	func TestMain(m *testing.M) { clustertest.Main(m) }
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-clustertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv(BinaryEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%s: %w", BinaryEnv, err)
		}
		return bin, nil
	}
	if binDir == "" {
		return "", errors.New("clustertest: call clustertest.Main(m) from TestMain (it owns the built binary's directory)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool not on PATH: %w", err)
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the strata module")
	}
	bin := filepath.Join(binDir, "strata")
	args := []string{"build", "-o", bin}
	if raceEnabled && os.Getenv("STRATA_CLUSTERTEST_RACE") != "0" {
		// A race in a real broker under faults is reported in its
		// log and fails the test (see Cluster.checkLogs).
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, "./cmd/strata")...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/strata: %w\n%s", err, out)
	}
	return bin, nil
})

// Binary builds ./cmd/strata once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
