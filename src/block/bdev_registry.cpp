// Bdev registry: names, lookups, claims.
#include "block/bdev_registry.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "block/bdev_checks.hpp"

namespace vhostd::block {

Result<void> BdevRegistry::add(std::shared_ptr<Bdev> bdev) {
    if (!bdev) {
        return make_error(EINVAL, "no bdev to register");
    }
    VHOSTD_TRY(check_bdev_name(bdev->name()));
    for (const Entry& e : entries_) {
        if (e.bdev->name() == bdev->name()) {
            return make_error(EEXIST, "bdev {} already exists", bdev->name());
        }
        if (e.bdev->uuid() == bdev->uuid()) {
            return make_error(EEXIST, "bdev {}: UUID {} is already used by bdev {}", bdev->name(),
                              bdev->uuid(), e.bdev->name());
        }
    }
    LOG_INFO(block, "registered bdev {} ({}, {} blocks of {} bytes, uuid {})", bdev->name(),
             bdev->product_name(), bdev->num_blocks(), bdev->block_size(), bdev->uuid());
    entries_.push_back(Entry{std::move(bdev), {}});
    return {};
}

BdevRegistry::Entry* BdevRegistry::entry(std::string_view name) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.bdev->name() == name; });
    return it == entries_.end() ? nullptr : &*it;
}

const BdevRegistry::Entry* BdevRegistry::entry(std::string_view name) const {
    return const_cast<BdevRegistry*>(this)->entry(name);
}

std::shared_ptr<Bdev> BdevRegistry::find(std::string_view name_or_uuid) const {
    if (const Entry* e = entry(name_or_uuid)) {
        return e->bdev;
    }
    for (const Entry& e : entries_) {
        if (e.bdev->uuid() == name_or_uuid) {
            return e.bdev;
        }
    }
    return nullptr;
}

Result<std::shared_ptr<Bdev>> BdevRegistry::remove(std::string_view name) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.bdev->name() == name; });
    if (it == entries_.end()) {
        return make_error(ENODEV, "bdev {} not found", name);
    }
    if (!it->holder.empty()) {
        return make_error(EBUSY, "bdev {} is in use by {}", name, it->holder);
    }
    std::shared_ptr<Bdev> bdev = std::move(it->bdev);
    entries_.erase(it);
    LOG_INFO(block, "unregistered bdev {}", bdev->name());
    return bdev;
}

std::vector<std::shared_ptr<Bdev>> BdevRegistry::list() const {
    std::vector<std::shared_ptr<Bdev>> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) {
        out.push_back(e.bdev);
    }
    return out;
}

Result<void> BdevRegistry::claim(std::string_view bdev_name, std::string holder) {
    if (holder.empty()) {
        return make_error(EINVAL, "claim of bdev {} names no holder", bdev_name);
    }
    Entry* e = entry(bdev_name);
    if (e == nullptr) {
        return make_error(ENODEV, "bdev {} not found", bdev_name);
    }
    if (!e->holder.empty()) {
        return make_error(EBUSY, "bdev {} is already in use by {}", bdev_name, e->holder);
    }
    e->holder = std::move(holder);
    LOG_DEBUG(block, "bdev {} claimed by {}", bdev_name, e->holder);
    return {};
}

Result<void> BdevRegistry::release(std::string_view bdev_name, std::string_view holder) {
    Entry* e = entry(bdev_name);
    if (e == nullptr) {
        return make_error(ENODEV, "bdev {} not found", bdev_name);
    }
    if (e->holder != holder) {
        if (e->holder.empty()) {
            return make_error(EINVAL, "bdev {} is not claimed (release by {})", bdev_name, holder);
        }
        return make_error(EPERM, "bdev {} is held by {}, not by {}", bdev_name, e->holder, holder);
    }
    e->holder.clear();
    LOG_DEBUG(block, "bdev {} released by {}", bdev_name, holder);
    return {};
}

const std::string* BdevRegistry::claimed_by(std::string_view bdev_name) const {
    const Entry* e = entry(bdev_name);
    return e == nullptr || e->holder.empty() ? nullptr : &e->holder;
}

}  // namespace vhostd::block
