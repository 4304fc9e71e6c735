// Tests of ringio over loopback TCP sockets: accept, multishot recv into provided buffers with
// ENOBUFS as flow control, send and send_zc with its notification, timeouts, cancellation,
// the eventfd wake from another thread, and tags.
#include "ringio/ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringio/buf_ring.h"
#include "ringio/result.h"
#include "ringio/tag.h"
#include "ringio/wake.h"

namespace jitgate::ringio {
namespace {

struct Completion {
  Tag tag;
  int32_t res;
  uint32_t flags;
};

class RingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status probe = ProbeIoUring();
    if (!probe.ok()) {
      GTEST_SKIP() << "io_uring unusable here: " << probe;
    }
    auto ring = Ring::Create(RingOptions{});
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = std::move(*ring);
  }

  void TearDown() override {
    for (int fd : fds_) {
      close(fd);
    }
  }

  int Track(int fd) {
    fds_.push_back(fd);
    return fd;
  }

  // A listening socket on 127.0.0.1 with an ephemeral port.
  int Listen(sockaddr_in* address) {
    const int fd = Track(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_GE(fd, 0);
    *address = {};
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(address), sizeof(*address)), 0);
    socklen_t length = sizeof(*address);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(address), &length), 0);
    EXPECT_EQ(listen(fd, 128), 0);
    return fd;
  }

  // A connected pair of TCP sockets {client, server}.
  std::pair<int, int> ConnectedPair() {
    sockaddr_in address{};
    const int listen_fd = Listen(&address);
    const int client = Track(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const int server = Track(accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_GE(server, 0);
    return {client, server};
  }

  // Waits for at least `count` completions and returns everything reaped.
  std::vector<Completion> Reap(uint32_t count) {
    std::vector<Completion> out;
    while (out.size() < count) {
      const int rc = ring_->SubmitAndWait(1);
      EXPECT_TRUE(rc == 0 || rc == -EINTR) << rc;
      ring_->Drain([&](const io_uring_cqe& cqe) {
        out.push_back(Completion{UnpackTag(cqe.user_data), cqe.res, cqe.flags});
      });
    }
    return out;
  }

  std::unique_ptr<Ring> ring_;
  std::vector<int> fds_;
};

TEST(TagTest, RoundTripsAndDistinguishesGenerations) {
  const Tag a{3, 1, 7, 42};
  const Tag b{3, 1, 8, 42};
  EXPECT_EQ(UnpackTag(PackTag(a)), a);
  EXPECT_NE(PackTag(a), PackTag(b));
  EXPECT_EQ(UnpackTag(PackTag(Tag{0xfe, 0xff, 0xffff, 0xffffffff})).slot, 0xffffffffu);
}

TEST(ResultTest, MapsErrnoOnce) {
  EXPECT_EQ(ClassifyResult(5), IoError::kNone);
  EXPECT_EQ(ClassifyResult(-ENOBUFS), IoError::kNoBuffers);
  EXPECT_EQ(ClassifyResult(-ECONNRESET), IoError::kPeerReset);
  EXPECT_EQ(ClassifyResult(-EPIPE), IoError::kPeerReset);
  EXPECT_EQ(ClassifyResult(-ECONNREFUSED), IoError::kRefused);
  EXPECT_EQ(ClassifyResult(-ECANCELED), IoError::kCanceled);
  EXPECT_EQ(ClassifyResult(-ETIME), IoError::kTimedOut);
  EXPECT_EQ(ClassifyResult(-EBADF), IoError::kBug);
  EXPECT_EQ(ClassifyResult(-EMFILE), IoError::kOutOfFiles);
  EXPECT_STREQ(IoErrorName(IoError::kRefused), "refused");
}

TEST_F(RingTest, MultishotAcceptYieldsOneCompletionPerConnection) {
  sockaddr_in address{};
  const int listen_fd = Listen(&address);
  ring_->MultishotAccept(listen_fd, Tag{1, 0, 0, 9});
  ASSERT_EQ(ring_->Submit(), 0);
  for (int i = 0; i < 3; ++i) {
    const int client = Track(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }
  std::vector<Completion> got = Reap(3);
  ASSERT_EQ(got.size(), 3u);
  for (const Completion& c : got) {
    EXPECT_EQ(c.tag, (Tag{1, 0, 0, 9}));
    ASSERT_GE(c.res, 0);
    EXPECT_TRUE(c.flags & IORING_CQE_F_MORE);
    Track(c.res);
  }
}

TEST_F(RingTest, MultishotRecvFillsProvidedBuffersAndStopsWithEnobufsWhenDry) {
  auto buffers = BufRing::Create(ring_.get(), 0, 4, 4096);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  auto [client, server] = ConnectedPair();
  const Tag recv_tag{2, 0, 1, 5};
  ring_->RecvMultishot(server, 0, recv_tag);
  ASSERT_EQ(ring_->Submit(), 0);

  // Six writes, paced so each lands in its own buffer; only four buffers exist.
  std::vector<Completion> got;
  for (int i = 0; i < 6 && got.size() < 5; ++i) {
    const std::string payload = "chunk-" + std::to_string(i);
    ASSERT_EQ(send(client, payload.data(), payload.size(), 0), ssize_t(payload.size()));
    std::vector<Completion> batch = Reap(1);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  ASSERT_GE(got.size(), 5u);
  uint32_t bytes = 0;
  int data_completions = 0;
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    const Completion& c = got[i];
    EXPECT_EQ(c.tag, recv_tag);
    ASSERT_GT(c.res, 0);
    ASSERT_TRUE(c.flags & IORING_CQE_F_BUFFER);
    EXPECT_TRUE(c.flags & IORING_CQE_F_MORE);
    const uint16_t bid = static_cast<uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT);
    (*buffers)->Take(bid);
    EXPECT_EQ(std::memcmp((*buffers)->Data(bid), "chunk-", 6), 0);
    bytes += static_cast<uint32_t>(c.res);
    ++data_completions;
  }
  EXPECT_EQ(data_completions, 4);
  EXPECT_EQ((*buffers)->held(), 4u);
  EXPECT_EQ((*buffers)->in_kernel(), 0u);
  // The ring ran dry: the multishot ends with ENOBUFS and no F_MORE. That is flow control.
  const Completion& last = got.back();
  EXPECT_EQ(ClassifyResult(last.res), IoError::kNoBuffers);
  EXPECT_FALSE(last.flags & IORING_CQE_F_MORE);

  // Give the buffers back, re-arm: the data still in the socket arrives.
  for (uint16_t bid = 0; bid < 4; ++bid) {
    (*buffers)->Release(bid);
  }
  EXPECT_EQ((*buffers)->Publish(), 4u);
  EXPECT_EQ((*buffers)->in_kernel(), 4u);
  ring_->RecvMultishot(server, 0, recv_tag);
  std::vector<Completion> more = Reap(1);
  ASSERT_GT(more[0].res, 0);
  EXPECT_TRUE(more[0].flags & IORING_CQE_F_BUFFER);
  (*buffers)->Take(static_cast<uint16_t>(more[0].flags >> IORING_CQE_BUFFER_SHIFT));
  (*buffers)->AssertInvariants();
}

TEST_F(RingTest, RecvReportsEofAsZero) {
  auto buffers = BufRing::Create(ring_.get(), 0, 8, 4096);
  ASSERT_TRUE(buffers.ok());
  auto [client, server] = ConnectedPair();
  ring_->RecvMultishot(server, 0, Tag{2, 0, 0, 0});
  ASSERT_EQ(shutdown(client, SHUT_WR), 0);
  std::vector<Completion> got = Reap(1);
  EXPECT_EQ(got[0].res, 0);
  EXPECT_FALSE(got[0].flags & IORING_CQE_F_MORE);
}

TEST_F(RingTest, SendAndSendMsgDeliverBytesInOrder) {
  auto [client, server] = ConnectedPair();
  const char first[] = "hello ";
  ring_->Send(client, first, 6, Tag{3, 0, 0, 1});
  ASSERT_EQ(Reap(1)[0].res, 6);
  char part_a[] = "wor";
  char part_b[] = "ld";
  iovec iov[2] = {{part_a, 3}, {part_b, 2}};
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = 2;
  ring_->SendMsg(client, &message, Tag{3, 0, 0, 2});
  ASSERT_EQ(Reap(1)[0].res, 5);
  char received[16] = {};
  ASSERT_EQ(recv(server, received, sizeof(received), MSG_WAITALL), 11);
  EXPECT_EQ(std::string(received, 11), "hello world");
}

TEST_F(RingTest, SendZcReportsResultThenNotification) {
  auto [client, server] = ConnectedPair();
  std::vector<char> payload(256 * 1024, 'z');
  iovec iov{payload.data(), payload.size()};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  const Tag tag{4, 1, 3, 77};
  ring_->SendMsgZc(client, &message, tag);
  ASSERT_EQ(ring_->Submit(), 0);
  // Drain the receiver on another thread so a large send can complete.
  size_t received = 0;
  std::thread reader([&] {
    std::vector<char> sink(64 * 1024);
    while (received < payload.size()) {
      const ssize_t n = recv(server, sink.data(), sink.size(), 0);
      if (n <= 0) {
        break;
      }
      received += static_cast<size_t>(n);
    }
  });
  std::vector<Completion> got = Reap(1);
  if (got.size() < 2 && (got[0].flags & IORING_CQE_F_MORE)) {
    std::vector<Completion> notif = Reap(1);
    got.insert(got.end(), notif.begin(), notif.end());
  }
  reader.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].tag, tag);
  EXPECT_EQ(got[0].res, int32_t(payload.size()));
  EXPECT_TRUE(got[0].flags & IORING_CQE_F_MORE);
  EXPECT_EQ(got[1].tag, tag);
  EXPECT_TRUE(got[1].flags & IORING_CQE_F_NOTIF);
  EXPECT_FALSE(got[1].flags & IORING_CQE_F_MORE);
  EXPECT_EQ(received, payload.size());
}

TEST_F(RingTest, TimeoutFiresWithEtime) {
  const __kernel_timespec ten_ms{0, 10 * 1000 * 1000};
  ring_->Timeout(&ten_ms, Tag{5, 0, 0, 0});
  std::vector<Completion> got = Reap(1);
  EXPECT_EQ(ClassifyResult(got[0].res), IoError::kTimedOut);
}

TEST_F(RingTest, CancelStopsAMultishotRecv) {
  auto buffers = BufRing::Create(ring_.get(), 0, 8, 4096);
  ASSERT_TRUE(buffers.ok());
  auto [client, server] = ConnectedPair();
  const Tag recv_tag{2, 0, 4, 11};
  ring_->RecvMultishot(server, 0, recv_tag);
  ASSERT_EQ(ring_->Submit(), 0);
  ring_->Cancel(recv_tag, Tag{6, 0, 0, 0});
  std::vector<Completion> got = Reap(2);
  bool saw_canceled_recv = false;
  bool saw_cancel_ok = false;
  for (const Completion& c : got) {
    if (c.tag == recv_tag) {
      saw_canceled_recv = ClassifyResult(c.res) == IoError::kCanceled;
    } else {
      saw_cancel_ok = c.res == 0;
    }
  }
  EXPECT_TRUE(saw_canceled_recv);
  EXPECT_TRUE(saw_cancel_ok);
}

TEST_F(RingTest, CancelFdCancelsEveryRequestOnTheSocket) {
  auto buffers = BufRing::Create(ring_.get(), 0, 8, 4096);
  ASSERT_TRUE(buffers.ok());
  auto [client, server] = ConnectedPair();
  ring_->RecvMultishot(server, 0, Tag{2, 0, 0, 1});
  ASSERT_EQ(ring_->Submit(), 0);
  ring_->CancelFd(server, Tag{6, 0, 0, 1});
  std::vector<Completion> got = Reap(2);
  int canceled = 0;
  for (const Completion& c : got) {
    if (c.tag.op == 2) {
      canceled += ClassifyResult(c.res) == IoError::kCanceled;
    } else {
      EXPECT_EQ(c.res, 1) << "one request canceled";
    }
  }
  EXPECT_EQ(canceled, 1);
}

TEST_F(RingTest, ConnectToClosedPortIsRefused) {
  sockaddr_in address{};
  const int listen_fd = Listen(&address);
  close(listen_fd);
  fds_.erase(std::find(fds_.begin(), fds_.end(), listen_fd));
  const int fd = Track(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const __kernel_timespec one_s{1, 0};
  ring_->ConnectWithTimeout(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address), &one_s,
                            Tag{7, 0, 0, 0}, Tag{8, 0, 0, 0});
  std::vector<Completion> got = Reap(2);
  for (const Completion& c : got) {
    if (c.tag.op == 7) {
      EXPECT_EQ(ClassifyResult(c.res), IoError::kRefused);
    } else {
      EXPECT_EQ(ClassifyResult(c.res), IoError::kCanceled);  // the connect finished first
    }
  }
}

TEST_F(RingTest, WakeFromAnotherThreadCompletesTheArmedRead) {
  auto wake = Wake::Create();
  ASSERT_TRUE(wake.ok());
  wake->Arm(ring_.get(), Tag{9, 0, 0, 0});
  ASSERT_EQ(ring_->Submit(), 0);
  std::thread other([&] { wake->Signal(); });
  std::vector<Completion> got = Reap(1);
  other.join();
  EXPECT_EQ(got[0].tag.op, 9);
  EXPECT_EQ(got[0].res, 8);
}

}  // namespace
}  // namespace jitgate::ringio
