package group

// javaStringHashCode is Java's String.hashCode over the UTF-16 code units
// of s, which Kafka uses to place a group on a __consumer_offsets
// partition. Invalid UTF-8 bytes count as U+FFFD, as Java's decoder would
// make them.
func javaStringHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 { // a surrogate pair in UTF-16
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// PartitionFor is the __consumer_offsets partition of groupID among n
// partitions: Kafka's Utils.abs(groupId.hashCode) % n, where abs is
// "& 0x7fffffff" (so MinInt32 maps to 0, not to itself).
func PartitionFor(groupID string, n int32) int32 {
	return (javaStringHashCode(groupID) & 0x7fffffff) % n
}
