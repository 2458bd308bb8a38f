// The fixed-size command record that reaches the audio thread (and crosses shared memory).
// Plain data, header-only: common/shm_layout.hpp carries it in its rings.
#pragma once

#include <cstdint>
#include <type_traits>

namespace chronus::model {

enum class EventType : std::uint8_t {
    SetParam = 1,   // node.param = value
    SetElement = 2, // node.textParam[element] = value (element kLengthElement: length)
    ResetNode = 3,  // node.reset(): restart phases, envelopes, sequencer position
    // The patch of `generation`, prepared (built) ahead, goes live at this frame; `node`
    // carries the crossfade length in frames. Every later event of that generation follows it.
    Activate = 4,
    // Events for a poly node (model/modules/poly.hpp); the poly allocates the voice itself, so
    // the same events give the same voices in every engine.
    NoteOn = 5,      // value: MIDI pitch (fractional for microtones), value2: velocity in (0, 1];
                     // noteDurationUs(): released after this long (0: held until NoteOff)
    NoteOff = 6,     // value: MIDI pitch; releases the oldest voice holding it
    NotesOff = 7,    // releases every voice (tails ring on)
    VoicesCut = 8,   // silences every voice within a few milliseconds (panic, all sound off)
    Sustain = 9,     // value >= 0.5: pedal down (releases wait until it goes up)
    Bend = 10,       // value: pitch bend in -1..1 of the poly's bend range
    Pressure = 11,   // value: aftertouch 0..1; for every voice, or (value2 >= 0) the voice of
                     // MIDI pitch value2 only
    VoiceParam = 12, // parameter `param` of template node `element` in every voice = value
    Locate = 13,     // a sequencer jumps to step `value` (transport locate)
};

// The `element` of a SetElement event that sets how many elements are valid.
inline constexpr std::uint16_t kLengthElement = 0xFFFF;

// A command stamped with the absolute frame where it takes effect. `generation` names
// the patch the node/param indices were resolved against; an event for another patch is
// dropped (counted) rather than applied to the wrong node.
struct Event {
    std::uint64_t frame = 0;
    std::uint32_t generation = 0;
    std::uint32_t node = 0;   // index in the compiled patch's node order
    std::uint16_t param = 0;  // parameter or text-parameter index in the module's spec
    std::uint16_t element = 0;
    EventType type = EventType::SetParam;
    std::uint8_t reserved[3] = {};
    float value = 0.0f;
    float value2 = 0.0f;
};
static_assert(std::is_trivially_copyable_v<Event>);
static_assert(sizeof(Event) == 32);

// An Activate event's `param`: the new patch keeps no node's state (a fresh start after
// both workers were lost, replayed as an empty patch and then the patch).
inline constexpr std::uint16_t kActivateFresh = 1;

// A NoteOn's duration in microseconds travels in `param` (high half) and `element` (low).
inline void setNoteDurationUs(Event &e, std::uint32_t us) noexcept
{
    e.param = static_cast<std::uint16_t>(us >> 16);
    e.element = static_cast<std::uint16_t>(us & 0xFFFFu);
}
inline std::uint32_t noteDurationUs(const Event &e) noexcept
{
    return (std::uint32_t{e.param} << 16) | e.element;
}

} // namespace chronus::model
