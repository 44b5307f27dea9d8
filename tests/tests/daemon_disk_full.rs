//! A full disk: the data directory lives on a small tmpfs; once it is full,
//! writes fail with RESOURCE_EXHAUSTED and change nothing, reads keep
//! working, and as soon as space returns writes work again with nothing
//! lost — without restarting the daemon. Needs root (to mount); skipped
//! with a printed reason otherwise, and failed under `CI=true`.

use std::{fs, io::Write, path::PathBuf, process::Command};

use chronicle_proto::v1::{AppendMessageRequest, GetWorkingSessionRequest, Message, Role};
use chronicle_tests::Sandbox;

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn message(i: usize) -> Message {
    Message {
        role: Role::Assistant as i32,
        content: format!("{i}: {}", "lorem ipsum dolor sit amet ".repeat(4000)),
        ..Message::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_fail_cleanly_when_full_and_resume_when_space_returns() {
    if rustix::process::getuid().as_raw() != 0 {
        crate::common::skip("mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let sandbox = Sandbox::new();
    let data = sandbox.data_dir();
    fs::create_dir_all(&data).expect("data dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs"])
        .arg(&data)
        .status()
        .expect("run mount");
    if !mounted.success() {
        crate::common::skip("this machine does not allow mounting tmpfs");
        return;
    }
    let _mount = Mount(data.clone());
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("full").display().to_string();
    let append = |i: usize| AppendMessageRequest {
        project: project.clone(),
        message: Some(message(i)),
        expected_revision: None,
    };
    let mut acked = 0;
    for i in 0..5 {
        client
            .append_message(append(i))
            .await
            .expect("append while there is room");
        acked += 1;
    }

    // Fill the disk.
    let ballast_path = data.join("ballast");
    let mut ballast = fs::File::create(&ballast_path).expect("ballast");
    let chunk = vec![0u8; 64 * 1024];
    while ballast.write_all(&chunk).is_ok() {}
    drop(ballast);

    let mut refused = 0;
    for i in 5..40 {
        match client.append_message(append(i)).await {
            Ok(_) => acked += 1,
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("disk"), "{}", status.message());
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "a full disk refuses writes");
    let page = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            after_message_id: 0,
            limit: 0,
        })
        .await
        .expect("reads work on a full disk")
        .into_inner();
    assert_eq!(page.messages.len(), acked);
    assert_eq!(page.revision, acked as u64, "refused writes changed nothing");

    // Space returns: writes work again, same daemon, nothing lost.
    fs::remove_file(&ballast_path).expect("free space");
    let ack = client
        .append_message(append(99))
        .await
        .expect("append after space returned")
        .into_inner();
    assert_eq!(ack.revision, acked as u64 + 1);
    let page = client
        .get_working_session(GetWorkingSessionRequest {
            project,
            after_message_id: 0,
            limit: 0,
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(page.messages.len(), acked + 1);
    assert!(page.messages[0].content.starts_with("0: lorem"));
    assert!(daemon.stop().success());
}
