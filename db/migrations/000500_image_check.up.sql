-- Every stored stimulus must be an image: imports now decode each file's
-- header (PNG, JPEG or WebP, at most 20 MB and 4096 pixels a side) and store
-- the decoded format's content type. This re-checks what was imported
-- before, by the files' signatures, and records (never deletes) the ones
-- that fail in stimulus_image_problems; the server serves none of those and
-- logs them at start. A picture whose signature disagrees with its stored
-- content type (a PNG named .jpg) gets the type of what it is.

-- Large pictures are streamed in pieces; uncompressed out-of-line storage
-- lets PostgreSQL read a piece without reading the whole value (pictures
-- hardly compress anyway). It applies to rows written from now on.
ALTER TABLE stimuli ALTER COLUMN image SET STORAGE EXTERNAL;

CREATE TABLE stimulus_image_problems (
    stimulus_id uuid PRIMARY KEY REFERENCES stimuli (id) ON DELETE CASCADE,
    problem     text NOT NULL,
    found_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TEMPORARY TABLE image_sniff ON COMMIT DROP AS
SELECT id, content_type, octet_length(image) AS bytes,
    CASE
        WHEN substring(image FROM 1 FOR 8) = '\x89504e470d0a1a0a'::bytea
            AND substring(image FROM 13 FOR 4) = 'IHDR'::bytea THEN 'image/png'
        WHEN substring(image FROM 1 FOR 3) = '\xffd8ff'::bytea THEN 'image/jpeg'
        WHEN substring(image FROM 1 FOR 4) = 'RIFF'::bytea
            AND substring(image FROM 9 FOR 4) = 'WEBP'::bytea THEN 'image/webp'
    END AS sniffed,
    -- A PNG's width and height are the IHDR chunk's first two big-endian
    -- integers; JPEG and WebP keep theirs deeper and are checked on import.
    CASE WHEN octet_length(image) >= 24 THEN
        (get_byte(image, 16)::bigint << 24) | (get_byte(image, 17) << 16) | (get_byte(image, 18) << 8) | get_byte(image, 19)
    END AS png_width,
    CASE WHEN octet_length(image) >= 24 THEN
        (get_byte(image, 20)::bigint << 24) | (get_byte(image, 21) << 16) | (get_byte(image, 22) << 8) | get_byte(image, 23)
    END AS png_height
FROM stimuli;

INSERT INTO stimulus_image_problems (stimulus_id, problem)
SELECT id,
    CASE
        WHEN sniffed IS NULL THEN
            format('is not a PNG, JPEG or WebP image (stored as %s); it is not served', content_type)
        WHEN bytes > 20 * 1024 * 1024 THEN
            format('is %s MB, over the limit of 20 MB', round(bytes / 1048576.0, 1))
        ELSE
            format('is %sx%s pixels, over the limit of 4096 pixels a side', png_width, png_height)
    END
FROM image_sniff
WHERE sniffed IS NULL OR bytes > 20 * 1024 * 1024
    OR (sniffed = 'image/png' AND (png_width > 4096 OR png_height > 4096 OR png_width < 1 OR png_height < 1));

UPDATE stimuli s SET content_type = i.sniffed
FROM image_sniff i
WHERE s.id = i.id AND i.sniffed IS NOT NULL AND s.content_type <> i.sniffed;
