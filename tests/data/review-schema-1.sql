-- A review database as ReviewStore wrote it before edits were aligned again (commit cb69793): made
-- with tests.review_helpers.aligned, a glossary term and three edits (one approved); see test_review_realign.
BEGIN TRANSACTION;
CREATE TABLE history (
    transcript TEXT NOT NULL, id TEXT NOT NULL, revision INTEGER NOT NULL,
    field TEXT NOT NULL, old TEXT, new TEXT, at TEXT NOT NULL
);
INSERT INTO "history" VALUES('talk','s5e2885220fd5',1,'en','Welcome to the show.','Welcome to our programme.','2026-11-27T16:19:18.555+00:00');
INSERT INTO "history" VALUES('talk','s5e2885220fd5',1,'status','untouched','approved','2026-11-27T16:19:18.555+00:00');
INSERT INTO "history" VALUES('talk','s3fac7fdafaef',1,'en','Thank you, Falcon.','Thank you, صقر.','2026-11-27T16:19:18.575+00:00');
INSERT INTO "history" VALUES('talk','s3fac7fdafaef',1,'status','untouched','edited','2026-11-27T16:19:18.575+00:00');
INSERT INTO "history" VALUES('talk','s4dd6549d0229',1,'en','Hello everyone.','Hello hello hello hello.','2026-11-27T16:19:18.591+00:00');
INSERT INTO "history" VALUES('talk','s4dd6549d0229',1,'status','untouched','edited','2026-11-27T16:19:18.591+00:00');
CREATE TABLE memory (
    transcript TEXT NOT NULL, ar TEXT NOT NULL,
    en TEXT NOT NULL, status TEXT NOT NULL, comment TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (transcript, ar)
);
INSERT INTO "memory" VALUES('talk','مرحبا بكم في البرنامج','Welcome to our programme.','approved','','2026-11-27T16:19:18.555+00:00');
INSERT INTO "memory" VALUES('talk','شكرا لك يا صقر','Thank you, صقر.','edited','','2026-11-27T16:19:18.575+00:00');
INSERT INTO "memory" VALUES('talk','Hello everyone','Hello hello hello hello.','edited','','2026-11-27T16:19:18.591+00:00');
CREATE TABLE origins (name TEXT PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE sentences (
    transcript TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL,
    ar TEXT NOT NULL, machine TEXT NOT NULL, en TEXT NOT NULL,
    status TEXT NOT NULL, comment TEXT NOT NULL, previous TEXT,
    segments TEXT NOT NULL, start REAL, end REAL, speaker TEXT,
    confidence REAL NOT NULL, flags TEXT NOT NULL, links TEXT NOT NULL,
    revision INTEGER NOT NULL, updated TEXT, seq INTEGER NOT NULL,
    PRIMARY KEY (transcript, id)
);
INSERT INTO "sentences" VALUES('talk','s5e2885220fd5',0,'مرحبا بكم في البرنامج.','Welcome to the show.','Welcome to our programme.','approved','',NULL,'["1"]',0.0,2.0,'A',0.5,'["low-confidence"]','[[0, 0]]',1,'2026-11-27T16:19:18.555+00:00',2);
INSERT INTO "sentences" VALUES('talk','s3fac7fdafaef',1,'شكرا لك يا صقر.','Thank you, Falcon.','Thank you, صقر.','edited','',NULL,'["2"]',2.0,4.0,'A',0.5,'[]','[[0, 0]]',1,'2026-11-27T16:19:18.575+00:00',3);
INSERT INTO "sentences" VALUES('talk','sc6c3c2bc52bb',2,'نعم.','Yes.','Yes.','untouched','',NULL,'["3"]',4.0,6.0,'A',0.5,'[]','[[0, 0]]',0,NULL,1);
INSERT INTO "sentences" VALUES('talk','s4dd6549d0229',3,'Hello everyone.','Hello everyone.','Hello hello hello hello.','edited','',NULL,'["4"]',6.0,8.0,'A',0.5,'["not-arabic"]','[[0, 0]]',1,'2026-11-27T16:19:18.591+00:00',4);
CREATE TABLE transcripts (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, model TEXT NOT NULL, glossary TEXT NOT NULL
);
INSERT INTO "transcripts" VALUES('talk','interview.srt','tiny','[{"ar": "\u0635\u0642\u0631", "en": "Saqr", "source": "g.tsv:2"}]');
CREATE INDEX sentences_by_seq ON sentences (transcript, seq);
COMMIT;
