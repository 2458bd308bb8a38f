// A value or an error message: the return type of everything that can fail off the
// audio thread (std::expected is C++23; Debian 12's GCC 12 lacks it).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace chronus {

// The failure side: one human-readable sentence naming the culprit.
struct Error {
    std::string message;
};

inline Error fail(std::string message) { return Error{std::move(message)}; }

template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Expected(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    explicit operator bool() const noexcept { return v_.index() == 0; }
    bool ok() const noexcept { return v_.index() == 0; }
    T &operator*() & { return std::get<0>(v_); }
    const T &operator*() const & { return std::get<0>(v_); }
    T &&operator*() && { return std::get<0>(std::move(v_)); }
    T *operator->() { return &std::get<0>(v_); }
    const T *operator->() const { return &std::get<0>(v_); }
    const std::string &error() const { return std::get<1>(v_).message; }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error) : error_(std::move(error.message)), failed_(true) {}

    explicit operator bool() const noexcept { return !failed_; }
    bool ok() const noexcept { return !failed_; }
    const std::string &error() const { return error_; }

private:
    std::string error_;
    bool failed_ = false;
};

} // namespace chronus
