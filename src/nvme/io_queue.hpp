// IoQueue: an I/O submission queue on its reactor: NVM command set commands (Read, Write,
// Flush, Write Zeroes, Dataset Management) checked field by field, their data pointers walked
// into iovecs over guest memory, submitted to the namespace's bdev channel on this reactor,
// and completed with the NVMe status of the outcome. Request contexts, their iovec arrays and
// the Dataset Management range buffers are allocated once for the queue's depth.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "nvme/ns_channel.hpp"
#include "nvme/submission_queue.hpp"

namespace vhostd::nvme {

class IoQueue final : public SubmissionQueue {
  public:
    IoQueue(Shard& shard, SqState& state, CompletionQueue& cq,
            guest_memory::GuestMemory::Ptr memory);
    ~IoQueue() override;

    // Dataset Management commands with range buffers at once; more wait for a buffer.
    static constexpr size_t kDsmBuffers = 4;

  private:
    struct Request;

    void execute(uint32_t slot) noexcept override;
    void dispatch(Request& request) noexcept;
    void read_write(Request& request, bool write) noexcept;
    void flush(Request& request) noexcept;
    void write_zeroes(Request& request) noexcept;
    void dataset_management(Request& request) noexcept;
    void next_range(Request& request) noexcept;
    void submit(Request& request) noexcept;
    void on_io_complete(Request& request) noexcept;
    void finish(Request& request, Status status) noexcept;
    void resume_dsm_waiters() noexcept;
    // The LBA range [slba, slba + blocks) of the request's namespace, checked.
    [[nodiscard]] Status check_range(const Request& request, uint64_t slba, uint64_t blocks) const;

    std::vector<iovec> iov_arena_;
    std::vector<Request> requests_;
    std::vector<nvme_spec::DsmRange> dsm_arena_;
    std::vector<uint32_t> free_dsm_buffers_;
    Request* dsm_waiters_head_ = nullptr;
    Request* dsm_waiters_tail_ = nullptr;
    bool resuming_dsm_ = false;
};

}  // namespace vhostd::nvme
