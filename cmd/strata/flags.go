package main

// flags.go holds the flag parsing shared by the client commands: k=v lists
// (--config, --header), separators typed with escapes, durations given as
// Kafka-style milliseconds, and Kafka's --property name=value spelling of
// the console tools' reader/formatter options. All of it is pure and
// checked before any connection is made.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// splitKV splits "k=v" at the first '=' (values may contain '=', keys may
// not) and requires a non-empty key.
func splitKV(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%s %q: want key=value", flag, s)
	}
	return k, v, nil
}

// parseConfigs turns repeated --config k=v into the map kadm wants. A key
// given twice is an error rather than last-one-wins: the user surely meant
// only one of them.
func parseConfigs(kvs []string) (map[string]*string, error) {
	out := make(map[string]*string, len(kvs))
	for _, s := range kvs {
		k, v, err := splitKV("--config", s)
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--config %s given twice", k)
		}
		out[k] = &v
	}
	return out, nil
}

// parseConfigNames splits repeated and/or comma-separated --delete-config
// names (as kafka-configs.sh takes them). Config names never hold commas.
func parseConfigNames(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		for part := range strings.SplitSeq(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, fmt.Errorf("--delete-config %q: empty config name", n)
			}
			if strings.Contains(part, "=") {
				return nil, fmt.Errorf("--delete-config %q: give only the name, not a value", part)
			}
			out = append(out, part)
		}
	}
	return out, nil
}

// unescapeSep lets a separator hold characters that are awkward to type:
// \t, \n, \r and \\ are replaced; any other backslash stays as it is.
func unescapeSep(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			continue
		}
		i++
	}
	return b.String()
}

// msDuration is a flag value that takes either a bare number of
// milliseconds (as Kafka's *.ms settings do) or a Go duration ("5ms", "1s").
type msDuration time.Duration

func (d *msDuration) String() string { return time.Duration(*d).String() }
func (d *msDuration) Type() string   { return "ms|duration" }
func (d *msDuration) Set(s string) error {
	v, err := parseMsDuration(s)
	if err != nil {
		return err
	}
	*d = msDuration(v)
	return nil
}

func parseMsDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither milliseconds nor a duration like 5ms", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// applyProperties maps Kafka console-tool properties (--property
// parse.key=true) onto this command's own flags, so both spellings work.
// table maps a property name to the flag it sets.
func applyProperties(fs *pflag.FlagSet, props []string, table map[string]string) error {
	for _, p := range props {
		name, val, err := splitKV("--property", p)
		if err != nil {
			return err
		}
		flag, ok := table[name]
		if !ok {
			return fmt.Errorf("--property %s is not supported; supported: %s", name, propertyNames(table))
		}
		if err := fs.Set(flag, val); err != nil {
			return fmt.Errorf("--property %s: %w", name, err)
		}
	}
	return nil
}

// propertyNames lists table's property names, sorted, for help and errors.
func propertyNames(table map[string]string) string {
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
