package server

import (
	"github.com/google/uuid"
)

// imageCacheBytes bounds the pictures a server process keeps in memory. A
// study's set of 512x512 PNGs is a few megabytes, so this holds the sets of
// every running study while staying small beside the process's other memory.
const imageCacheBytes = 64 << 20

// pictureGrants bounds the remembered grants (about 100 bytes each): two per
// trial page shown, so a thousand participants at once need a few thousand.
const pictureGrants = 1 << 16

// picture is a stimulus picture as served.
type picture struct {
	img         []byte
	contentType string
}

// grantKey names a picture a participant may see: the study, the hash of
// their session token, and the position in their list.
type grantKey struct {
	slug string
	hash [32]byte
	pos  int
}

// newGrantKey makes the key of the picture at pos for the session whose
// token hashes to hash; ok is false for a hash of another length.
func newGrantKey(slug string, hash []byte, pos int) (k grantKey, ok bool) {
	if len(hash) != len(k.hash) {
		return k, false
	}
	copy(k.hash[:], hash)
	return grantKey{slug: slug, hash: k.hash, pos: pos}, true
}

// maxCachedPicture is the largest picture the cache keeps; larger ones are
// streamed from the database on every request.
const maxCachedPicture = imageCacheBytes/8 - 64 // the content type counts too

// newImageCache keeps stimulus pictures by id. A stimulus's picture never
// changes under its id, so a kept one is never stale, and each process reads
// it from the database once instead of once per request; processes share
// nothing (each has its own cache).
func newImageCache() *lru[uuid.UUID, picture] {
	return newLRU[uuid.UUID](imageCacheBytes, func(p picture) int { return len(p.img) + len(p.contentType) })
}

// newGrantCache remembers which stimulus is at a position of a session's
// list once the database said so (showing a trial grants its picture and
// the next, the preload). A grant never lapses: the database's rule (the
// session's participant has consented and the position is at most one past
// the current trial) stays true as answers only move on, and a session is
// never withdrawn. A request that finds no grant here (another process, a
// grant dropped) asks the database.
func newGrantCache() *lru[grantKey, uuid.UUID] {
	return newLRU[grantKey](pictureGrants, func(uuid.UUID) int { return 1 })
}
