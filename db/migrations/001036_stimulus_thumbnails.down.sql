DROP TABLE stimulus_thumbnails;
