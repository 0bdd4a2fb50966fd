//! Big rooms through real sockets: batched ticks keep each author's order and the seq order,
//! and a room fills with 2,000 viewers who all see an editor's stroke live.

mod common;

use std::collections::HashMap;

use common::{Client, TestServer};
use futures_util::future::join_all;
use inkroom::protocol::{MemberId, ServerMsg};
use serde_json::{json, Value};

async fn room(server: &TestServer) -> (String, String) {
    let room = server
        .create_room(json!({"width": 400, "height": 300}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

fn hello(name: &str, key: Option<&str>, batch: bool) -> Value {
    let mut h = json!({"type": "hello", "name": name, "batch": batch});
    if let Some(k) = key {
        h["key"] = k.into();
    }
    h
}

/// What a watcher saw: each author's (stroke, kind) in order, and commit seqs in order.
#[derive(Default)]
struct Seen {
    per_author: HashMap<MemberId, Vec<(u32, u8)>>,
    seqs: Vec<u64>,
}

impl Seen {
    fn note(&mut self, msg: &ServerMsg<'_>) {
        match msg {
            ServerMsg::StrokeBegin { author, stroke, .. } => self
                .per_author
                .entry(*author)
                .or_default()
                .push((*stroke, 0)),
            ServerMsg::StrokePoints {
                author,
                stroke,
                points,
            } => self
                .per_author
                .entry(*author)
                .or_default()
                .push((*stroke, 1 + points[0] as u8)),
            ServerMsg::StrokeEnd { author, stroke } => self
                .per_author
                .entry(*author)
                .or_default()
                .push((*stroke, 9)),
            ServerMsg::Commit { seq, .. } => self.seqs.push(*seq),
            _ => {}
        }
    }
}

/// Two editors stream interleaved strokes as fast as they can send; a viewer reading batches
/// and one reading single messages each see every author's messages in the order sent, and
/// commits in seq order, with nothing missing.
#[tokio::test]
async fn batches_keep_each_authors_order() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join_with(&server, &id, hello("Ann", Some(&key), true)).await;
    let (mut bob, _) = Client::join_with(&server, &id, hello("Bob", Some(&key), true)).await;
    let (mut batch, _) = Client::join_with(&server, &id, hello("Vic", None, true)).await;
    let (mut single, _) = Client::join_with(&server, &id, hello("Sol", None, false)).await;
    const STROKES: u32 = 12;
    async fn stream(c: &mut Client, x: f32) {
        for s in 0..STROKES {
            c.send(
                json!({"type": "stroke_begin", "stroke": s, "tool": "pen", "width": 2,
                "points": [x, 5, 0.5]}),
            )
            .await;
            for i in 0..5 {
                c.send(json!({"type": "stroke_points", "stroke": s,
                    "points": [i as f32, 10, 0.5]}))
                    .await;
            }
            c.send(json!({"type": "stroke_end", "stroke": s})).await;
        }
        c.await_commit(STROKES - 1).await;
    }
    tokio::join!(stream(&mut ann, 10.0), stream(&mut bob, 200.0));
    let total = u64::from(2 * STROKES);
    let mut results = Vec::new();
    for watcher in [&mut batch, &mut single] {
        let mut seen = Seen::default();
        while seen.seqs.len() < total as usize {
            let msg = watcher.recv().await;
            seen.note(&msg);
        }
        results.push(seen);
    }
    let want: Vec<(u32, u8)> = (0..STROKES)
        .flat_map(|s| [(s, 0), (s, 1), (s, 2), (s, 3), (s, 4), (s, 5), (s, 9)])
        .collect();
    for seen in &results {
        assert_eq!(seen.seqs, (1..=total).collect::<Vec<u64>>());
        for author in [ann.id, bob.id] {
            assert_eq!(seen.per_author[&author], want, "author {author}");
        }
    }
    assert!(batch.batches > 0, "the batch reader got batch frames");
    assert_eq!(single.batches, 0, "the other got single messages");
}

/// 2,000 viewers join one room (the shipped limits allow 10,000): each welcome names only the
/// editor, the listed viewers and the joiner, `presence` counts them all, and an editor's
/// stroke reaches every one of them.
#[tokio::test]
async fn two_thousand_viewers_join_and_watch() {
    // Each viewer is two sockets in this process (client and server end).
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    const VIEWERS: usize = 2000;
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join_with(&server, &id, hello("Ann", Some(&key), true)).await;
    let listed = inkroom::config::Config::default().listed_viewers;

    let mut viewers = Vec::with_capacity(VIEWERS);
    for chunk in 0..VIEWERS / 100 {
        let joins = (0..100).map(|i| {
            let (server, id) = (&server, &id);
            async move {
                let name = format!("viewer {}", chunk * 100 + i);
                Client::join_with(server, id, hello(&name, None, true)).await
            }
        });
        for (client, welcome) in join_all(joins).await {
            let ServerMsg::Welcome { members, .. } = &welcome else {
                panic!("expected welcome");
            };
            assert!(members.len() <= 1 + listed + 1, "{} names", members.len());
            viewers.push(client);
        }
    }
    let info = common::http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["viewers"], VIEWERS);

    ann.draw(1, "#ff0000", 4.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    ann.await_commit(1).await;
    let watched = viewers.iter_mut().map(|v| async move {
        loop {
            if let ServerMsg::Commit {
                stroke: Some(1), ..
            } = v.recv().await
            {
                return;
            }
        }
    });
    join_all(watched).await;
}
