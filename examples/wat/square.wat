;; square.wat: the hecaton guest ABI (v1, guest/abi/ABI.md) by hand, importing nothing.
;;
;;   hecaton:v1:square  function task: a JSON integer in (whitespace around it allowed,
;;                      negative allowed), its square as a JSON integer out; input that
;;                      is not a JSON integer -> STATUS_BAD_INPUT; a square beyond i64
;;                      -> STATUS_GUEST_ERROR.
;;   add                numeric task (i64, i64) -> i64, wrapping on overflow.
;;   memory             the linear memory (required with function tasks).
;;   hecaton_alloc      a bump allocator (required with function tasks).
;;
;; Memory map (one 64 KiB page to start with):
;;   0x0010 .. 0x001c  the 12-byte result record {status, ptr, len}, little-endian u32s
;;   0x0040 .. 0x0060  the output buffer: the square's decimal digits, written backwards
;;   0x0100 ..         the two messages (data segments)
;;   0x0400 ..         the heap: hecaton_alloc hands out memory from here, never frees
;;                     (the host throws the instance away after one task)
(module
  (memory (export "memory") 1)

  ;; Result statuses (ABI.md, "Function tasks").
  ;;   0 STATUS_OK          payload is JSON
  ;;   1 STATUS_GUEST_ERROR payload is a UTF-8 message
  ;;   2 STATUS_BAD_INPUT   payload is a UTF-8 message

  (global $record i32 (i32.const 0x10))
  (global $out_end i32 (i32.const 0x60))

  (data (i32.const 0x100) "square takes one JSON integer")      ;; 29 bytes
  (global $bad_input_msg i32 (i32.const 0x100))
  (global $bad_input_len i32 (i32.const 29))

  (data (i32.const 0x140) "the square does not fit in an i64")  ;; 33 bytes
  (global $overflow_msg i32 (i32.const 0x140))
  (global $overflow_len i32 (i32.const 33))

  ;; ---------------------------------------------------------------------------------
  ;; hecaton_alloc(len) -> ptr: `len` bytes from the heap, growing memory as needed;
  ;; 0 when memory cannot grow that far.
  (global $heap (mut i32) (i32.const 0x400))

  (func (export "hecaton_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local $end i64)    ;; computed in i64 so that a huge $len cannot wrap around
    (local $have i64)   ;; the memory's current size in bytes
    (local.set $ptr (global.get $heap))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $ptr))
                             (i64.extend_i32_u (local.get $len))))
    (local.set $have (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        ;; grow by ceil((end - have) / 64 KiB) pages; memory.grow returns -1 on failure
        (if (i32.eq
              (memory.grow (i32.wrap_i64
                (i64.div_u (i64.add (i64.sub (local.get $end) (local.get $have))
                                    (i64.const 65535))
                           (i64.const 65536))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    ;; the next allocation starts at the end of this one, rounded up to 8
    (global.set $heap (i32.and (i32.add (i32.wrap_i64 (local.get $end)) (i32.const 7))
                               (i32.const -8)))
    (local.get $ptr))

  ;; ---------------------------------------------------------------------------------
  ;; Writes the result record and returns its address: what a function task returns.
  (func $result (param $status i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store offset=0 (global.get $record) (local.get $status))
    (i32.store offset=4 (global.get $record) (local.get $ptr))
    (i32.store offset=8 (global.get $record) (local.get $len))
    (global.get $record))

  ;; Is the byte JSON whitespace (space, tab, LF, CR)?
  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20))
                    (i32.eq (local.get $c) (i32.const 0x09)))
            (i32.or (i32.eq (local.get $c) (i32.const 0x0a))
                    (i32.eq (local.get $c) (i32.const 0x0d)))))

  ;; Is the byte an ASCII digit?
  (func $is_digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))

  ;; ---------------------------------------------------------------------------------
  ;; hecaton:v1:square(in_ptr, in_len) -> record address.
  ;;
  ;; The square of n is the square of |n|, so we parse the sign only to validate it and
  ;; keep the magnitude. |n| > 3037000499 (floor(sqrt(2^63 - 1))) has a square beyond
  ;; i64, so the magnitude saturates at 3037000500: that keeps the arithmetic in range
  ;; for any number of digits, and still tells "too big" apart.
  (func (export "hecaton:v1:square") (param $in i32) (param $len i32) (result i32)
    (local $at i32)        ;; address of the next input byte
    (local $end i32)       ;; address just past the input
    (local $first i32)     ;; address of the first digit
    (local $n i64)         ;; the magnitude, saturated
    (local $sq i64)        ;; the square
    (local $out i32)       ;; where the output's first digit goes

    (local.set $at (local.get $in))
    (local.set $end (i32.add (local.get $in) (local.get $len)))

    ;; leading whitespace
    (block $done
      (loop $skip
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (br_if $done (i32.eqz (call $is_space (i32.load8_u (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $skip)))

    ;; an optional minus sign
    (if (i32.lt_u (local.get $at) (local.get $end))
      (then
        (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x2d))  ;; '-'
          (then (local.set $at (i32.add (local.get $at) (i32.const 1)))))))

    ;; the digits
    (local.set $first (local.get $at))
    (block $done
      (loop $digits
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (br_if $done (i32.eqz (call $is_digit (i32.load8_u (local.get $at)))))
        ;; n = n * 10 + digit
        (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10))
                               (i64.extend_i32_u
                                 (i32.sub (i32.load8_u (local.get $at)) (i32.const 0x30)))))
        (if (i64.gt_u (local.get $n) (i64.const 3037000499))
          (then (local.set $n (i64.const 3037000500))))  ;; saturate: "too big"
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $digits)))

    ;; no digit at all ("", "-", "x", "\"7\"") is bad input
    (if (i32.eq (local.get $at) (local.get $first))
      (then (return (call $result (i32.const 2)
                          (global.get $bad_input_msg) (global.get $bad_input_len)))))

    ;; neither is a leading zero ("007"), which JSON does not allow
    (if (i32.and (i32.eq (i32.load8_u (local.get $first)) (i32.const 0x30))
                 (i32.gt_u (i32.sub (local.get $at) (local.get $first)) (i32.const 1)))
      (then (return (call $result (i32.const 2)
                          (global.get $bad_input_msg) (global.get $bad_input_len)))))

    ;; trailing whitespace, then the end: anything else ("7.5", "1e3", "7 8") is bad input
    (block $done
      (loop $skip
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (br_if $done (i32.eqz (call $is_space (i32.load8_u (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $skip)))
    (if (i32.lt_u (local.get $at) (local.get $end))
      (then (return (call $result (i32.const 2)
                          (global.get $bad_input_msg) (global.get $bad_input_len)))))

    ;; too big to square in i64 is the task's own failure, a guest error
    (if (i64.gt_u (local.get $n) (i64.const 3037000499))
      (then (return (call $result (i32.const 1)
                          (global.get $overflow_msg) (global.get $overflow_len)))))

    ;; the square, at most 9223372030926249001: positive, 19 digits at most
    (local.set $sq (i64.mul (local.get $n) (local.get $n)))

    ;; its decimal digits, from the last one backwards, ending at $out_end
    (local.set $out (global.get $out_end))
    (loop $write
      (local.set $out (i32.sub (local.get $out) (i32.const 1)))
      (i32.store8 (local.get $out)
                  (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.rem_u (local.get $sq) (i64.const 10)))))
      (local.set $sq (i64.div_u (local.get $sq) (i64.const 10)))
      (br_if $write (i64.ne (local.get $sq) (i64.const 0))))

    (call $result (i32.const 0)
                  (local.get $out)
                  (i32.sub (global.get $out_end) (local.get $out))))

  ;; ---------------------------------------------------------------------------------
  ;; A numeric task: input [a, b], output a + b.
  (func (export "add") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))
)
