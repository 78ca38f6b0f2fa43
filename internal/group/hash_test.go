package group

import "testing"

func TestPartitionFor(t *testing.T) {
	// Hash values computed with Java's String.hashCode.
	cases := []struct {
		s    string
		hash int32
	}{
		{"", 0},
		{"a", 97},
		{"my-group", -1906497762},
		{"polygenelubricants", -2147483648}, // Java's famous MinInt32 hash
		{"é", 233},
		{"😀", 1772899}, // surrogate pair D83D DE00
	}
	for _, c := range cases {
		if got := javaStringHashCode(c.s); got != c.hash {
			t.Errorf("hash(%q) = %d, want %d", c.s, got, c.hash)
		}
	}
	if got := PartitionFor("polygenelubricants", 50); got != 0 {
		t.Errorf("MinInt32 hash must map to partition 0, got %d", got)
	}
	if got := PartitionFor("my-group", 50); got != (-1906497762&0x7fffffff)%50 {
		t.Errorf("my-group -> %d", got)
	}
}
