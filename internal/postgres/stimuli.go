package postgres

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// SetImport is a stimulus set read from its folder, ready to store.
type SetImport struct {
	Name   string
	Scenes bool
	Items  []ItemImport
}

// ItemImport is one stimulus of a SetImport.
type ItemImport struct {
	ExtID       string // the manifest's id
	Domain      task.Domain
	NBlocks     int
	NRows       int
	RedRow      *int
	Size        int // blocks of a tower, rows of a pyramid
	Answer      string
	Split       string
	PairID      string
	File        string
	ContentType string          // "" means image/png
	Image       []byte          // the file's bytes
	Scene       json.RawMessage // nil when the set has no scenes
}

// ContentHash is a digest over every field and image of the set, independent
// of the order of items.
func (in SetImport) ContentHash() string {
	items := slices.Clone(in.Items)
	slices.SortFunc(items, func(a, b ItemImport) int { return strings.Compare(a.ExtID, b.ExtID) })
	h := sha256.New()
	field := func(h hash.Hash, b []byte) {
		// Length-prefixed so that no two different sets hash the same stream.
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	for _, it := range items {
		red := "-"
		if it.RedRow != nil {
			red = fmt.Sprint(*it.RedRow)
		}
		meta := fmt.Sprintf("%s|%s|%d|%d|%s|%d|%s|%s|%s|%s|%s",
			it.ExtID, it.Domain, it.NBlocks, it.NRows, red, it.Size, it.Answer, it.Split, it.PairID, it.File, it.ContentType)
		field(h, []byte(meta))
		field(h, it.Image)
		field(h, it.Scene)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ImportSet stores a set and its images in one transaction. Importing the same
// name with the same content again is a no-op (created is false); the same
// name with different content is refused, since studies may already point at
// the stored items.
func (s *Store) ImportSet(ctx context.Context, in SetImport) (id uuid.UUID, created bool, err error) {
	if len(in.Items) == 0 {
		return uuid.Nil, false, study.Errorf(study.EINVALID, "stimulus set %q has no items", in.Name)
	}
	for i, it := range in.Items {
		if _, err := task.ParseDomain(string(it.Domain)); err != nil {
			return uuid.Nil, false, study.Errorf(study.EINVALID, "stimulus set %q, item %d (%s): %v", in.Name, i+1, it.ExtID, err)
		}
		if !task.ValidAnswer(it.Answer) {
			return uuid.Nil, false, study.Errorf(study.EINVALID, "stimulus set %q, item %d (%s): answer %q is not Yes or No", in.Name, i+1, it.ExtID, it.Answer)
		}
	}
	sum := in.ContentHash()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// ON CONFLICT DO NOTHING plus the read below makes two concurrent
		// imports of one set wait for each other instead of failing.
		err := tx.QueryRow(ctx, `
			INSERT INTO stimulus_sets (name, content_hash, has_scenes) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING
			RETURNING id`, in.Name, sum, in.Scenes).Scan(&id)
		if err == pgx.ErrNoRows {
			var stored string
			if err := tx.QueryRow(ctx, `SELECT id, content_hash FROM stimulus_sets WHERE name = $1`, in.Name).Scan(&id, &stored); err != nil {
				return fmt.Errorf("postgres: read set %q: %w", in.Name, err)
			}
			if stored != sum {
				return study.Errorf(study.ECONFLICT, "a different stimulus set named %q is already imported; import it under another name", in.Name)
			}
			return nil
		} else if err != nil {
			return fmt.Errorf("postgres: insert set %q: %w", in.Name, err)
		}
		created = true
		rows := make([][]any, len(in.Items))
		for i, it := range in.Items {
			ct := it.ContentType
			if ct == "" {
				ct = "image/png"
			}
			var scene any
			if len(it.Scene) > 0 {
				scene = it.Scene
			}
			rows[i] = []any{id, it.ExtID, string(it.Domain), it.NBlocks, it.NRows, it.RedRow, it.Size,
				it.Answer, it.Split, it.PairID, it.File, ct, it.Image, scene}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"stimuli"},
			[]string{"set_id", "ext_id", "domain", "n_blocks", "n_rows", "red_row", "size",
				"answer", "split", "pair_id", "file", "content_type", "image", "scene"},
			pgx.CopyFromRows(rows))
		if isUniqueViolation(err) {
			return study.Errorf(study.EINVALID, "stimulus set %q lists an id twice", in.Name)
		} else if err != nil {
			return fmt.Errorf("postgres: copy stimuli of %q: %w", in.Name, err)
		}
		return nil
	})
	return id, created, err
}

// SetIDByName finds an imported set.
func (s *Store) SetIDByName(ctx context.Context, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM stimulus_sets WHERE name = $1`, name).Scan(&id)
	if err == pgx.ErrNoRows {
		return uuid.Nil, study.Errorf(study.ENOTFOUND, "no stimulus set named %q", name)
	} else if err != nil {
		return uuid.Nil, fmt.Errorf("postgres: set %q: %w", name, err)
	}
	return id, nil
}

// ReadSet reads a validated set folder's images and scenes into a SetImport.
func ReadSet(set *stimulus.Set) (SetImport, error) {
	in := SetImport{Name: set.Name, Scenes: set.Scenes, Items: make([]ItemImport, len(set.Items))}
	scenes := map[string]json.RawMessage{}
	if set.Scenes {
		f, err := os.Open(filepath.Join(set.Dir, stimulus.ScenesFile))
		if err != nil {
			return in, fmt.Errorf("postgres: read set %s: %w", set.Name, err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
		for line := 1; sc.Scan(); line++ {
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(text, &head); err != nil {
				return in, fmt.Errorf("postgres: %s line %d: %w", stimulus.ScenesFile, line, err)
			}
			scenes[head.ID] = json.RawMessage(bytes.Clone(text))
		}
		if err := sc.Err(); err != nil {
			return in, fmt.Errorf("postgres: read %s: %w", stimulus.ScenesFile, err)
		}
	}
	for i, it := range set.Items {
		img, err := os.ReadFile(set.Path(it))
		if err != nil {
			return in, fmt.Errorf("postgres: read set %s: %w", set.Name, err)
		}
		var red *int
		if it.RedRow > 0 {
			r := it.RedRow
			red = &r
		}
		ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(it.File)))
		if ct == "" {
			ct = http.DetectContentType(img)
		}
		in.Items[i] = ItemImport{
			ExtID: it.ID, Domain: it.Domain, NBlocks: it.NBlocks, NRows: it.NRows, RedRow: red,
			Size: it.Size(), Answer: it.Answer, Split: it.Split, PairID: it.PairID, File: it.File,
			ContentType: ct, Image: img, Scene: scenes[it.ID],
		}
	}
	return in, nil
}
