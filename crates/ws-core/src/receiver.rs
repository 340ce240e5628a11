//! The receiving side of a connection: frames parsed, unmasked, validated and
//! reassembled into messages ([RFC 6455 sections 5.2 to 5.4]).
//!
//! [RFC 6455 sections 5.2 to 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2

use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use ws_frame::{apply_mask, Decode, FrameHeader, OpCode, ReceiveRules, Role, Utf8Validator};

use crate::{Chunk, Config, Message, MessageKind, ProtocolError, Timeout, Utf8Bytes};

/// A frame whose header was read and whose payload is still arriving.
#[derive(Debug)]
struct IncomingFrame {
    header: FrameHeader,
    /// Payload bytes at the front of the input already unmasked (and fed to
    /// the UTF-8 validator, for text).
    processed: usize,
}

/// A fragmented data message being reassembled.
#[derive(Debug)]
struct IncomingMessage {
    text: bool,
    /// RSV1 on its first frame: the payload is deflated (RFC 7692).
    compressed: bool,
    data: BytesMut,
    utf8: Utf8Validator,
    fragments: usize,
    /// Set when the message is handed out in pieces rather than assembled.
    stream: Option<Box<Streamed>>,
}

/// What few receivers need at a time.
#[derive(Debug, Default)]
struct Rare {
    /// An error [`Receiver::poll_data`] found while detached, for the
    /// connection to fail with once attached.
    failure: Option<ProtocolError>,
    /// The limit of the next data message, which is to be streamed
    /// ([`Receiver::stream_next_message`]) once its first frame arrives.
    stream_next: Option<u64>,
}

/// A data message handed out in pieces ([`Chunk`]s) as it arrives.
#[derive(Debug)]
struct Streamed {
    /// The most payload bytes the message may have (inflated, when
    /// compressed), in place of [`Config::max_message_size`].
    limit: u64,
    /// Payload bytes taken out of frames so far (as sent: compressed, when
    /// compressed).
    taken: u64,
    /// Payload bytes handed out so far.
    handed_out: u64,
    /// Bytes taken out of frames and not handed out yet: compressed input
    /// not inflated yet, or what was assembled before streaming was asked.
    pending: BytesMut,
    /// The last frame was taken: once `pending` is out, the message is over.
    ending: bool,
    /// No piece was handed out yet.
    first: bool,
}

/// A streamed compressed message inflates into pieces of at most this size.
#[cfg(feature = "deflate")]
const STREAM_PIECE: usize = 64 * 1024;

/// The message timeout: the deadline, once armed, stays put while frames
/// complete (a busy connection does not re-arm a timer per message); when
/// it passes, the counter tells whether anything completed since.
#[derive(Debug, Default)]
struct ReadProgress {
    deadline: Option<Instant>,
    /// `frames_completed` when `deadline` was armed (wrapping: only
    /// equality matters).
    mark: u32,
    frames_completed: u32,
}

/// What [`Receiver::poll_data`] found at the front of the input.
#[derive(Debug)]
pub enum Received {
    /// A whole text or binary message.
    Message(Message),
    /// A piece of a streamed message
    /// ([`Receiver::stream_next_message`]).
    Chunk(Chunk),
    /// More input is needed (also once input is ignored, until its end).
    NeedMore,
    /// What comes next is for the whole connection to handle: a control
    /// frame, the end of input, input ignored after the close, or a
    /// protocol error (which fails the connection with its close code).
    /// Attach the receiver
    /// ([`Connection::swap_receiver`](crate::Connection::swap_receiver))
    /// and poll the connection's events.
    NeedsConnection,
}

/// What one parsing step achieved.
pub(crate) enum Step {
    Message(Message),
    Chunk(Chunk),
    Control(OpCode, Bytes),
    Progress,
    NeedMore,
}

/// The receiving side of a [`Connection`](crate::Connection): the input
/// buffer, the frame parser (unmasking, UTF-8 validation, the limits of
/// [`Config`]), message reassembly, inflating, and the message timeout.
///
/// A connection owns one. The reader half of a split connection detaches it
/// ([`Connection::detach_receiver`](crate::Connection::detach_receiver)) to parse
/// data messages without the rest of the connection, which the writer half
/// uses meanwhile; control frames, errors and the end of input still go
/// through the connection, with the receiver attached again for the call.
#[derive(Debug)]
pub struct Receiver {
    rules: ReceiveRules,
    input: BytesMut,
    frame: Option<IncomingFrame>,
    /// Boxed, like the other state only some connections need at a time,
    /// to keep an idle connection small.
    message: Option<Box<IncomingMessage>>,
    eof: bool,
    /// Input is ignored once the connection failed, the peer's close
    /// arrived or the connection is over ([RFC 6455 section 7.1.7],
    /// [RFC 6455 section 5.5.1]).
    ///
    /// [RFC 6455 section 7.1.7]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.7
    /// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
    stopped: bool,
    progress: ReadProgress,
    /// What few receivers need, boxed together so that the rest stay
    /// small: a failure found while detached, a streaming request.
    rare: Option<Box<Rare>>,
    #[cfg(feature = "deflate")]
    inflater: Option<Box<crate::deflate::Inflater>>,
}

impl Receiver {
    pub(crate) fn new(role: Role) -> Self {
        Receiver {
            rules: ReceiveRules::new(role),
            input: BytesMut::new(),
            frame: None,
            message: None,
            eof: false,
            stopped: false,
            progress: ReadProgress::default(),
            rare: None,
            #[cfg(feature = "deflate")]
            inflater: None,
        }
    }

    /// Accepts RSV1 (compressed messages) and inflates them.
    #[cfg(feature = "deflate")]
    pub(crate) fn set_inflater(&mut self, inflater: crate::deflate::Inflater) {
        self.rules.allowed_rsv = 0x40;
        self.inflater = Some(Box::new(inflater));
    }

    // ----- input -----

    /// Appends bytes read from the transport; nothing is parsed yet.
    pub fn receive(&mut self, data: &[u8]) {
        if self.stopped {
            return;
        }
        if self.input.capacity() == 0 {
            // Nothing buffered (the usual case between messages): one
            // exact-size copy, without the growth path of an append.
            self.input = BytesMut::from(data);
        } else {
            self.input.extend_from_slice(data);
        }
    }

    /// Takes a buffer of received bytes; when nothing unparsed is waiting, it
    /// becomes the receive buffer itself.
    pub fn receive_bytes(&mut self, data: BytesMut) {
        if self.stopped {
            return;
        }
        if self.input.is_empty() {
            self.input = data;
        } else {
            self.input.extend_from_slice(&data);
        }
    }

    /// The buffer received bytes go into (append only).
    pub fn receive_buffer(&mut self) -> &mut BytesMut {
        if self.stopped {
            self.input.clear();
        }
        &mut self.input
    }

    /// How many more bytes would complete the frame being received; 0
    /// between frames.
    #[must_use]
    pub fn frame_bytes_wanted(&self) -> usize {
        self.frame.as_ref().map_or(0, |frame| {
            (frame.header.payload_len as usize).saturating_sub(self.input.len())
        })
    }

    /// Reports the end of the transport's input.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Whether the end of input was reported ([`receive_eof`](Self::receive_eof)):
    /// a driver reads no more then.
    #[must_use]
    pub fn eof(&self) -> bool {
        self.eof
    }

    /// Frees the input buffer if it is empty, so an idle connection holds
    /// no buffer memory.
    pub fn release_idle_buffer(&mut self) {
        if self.input.is_empty() && self.input.capacity() > 0 {
            self.input = BytesMut::new();
        }
    }

    /// Ignores all further input.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
        if let Some(rare) = self.rare.as_mut() {
            rare.failure = None;
        }
        self.frame = None;
        self.message = None;
        self.input.clear();
    }

    /// Whether input is being ignored.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    // ----- the message timeout -----

    /// Whether part of a message (or control frame) has arrived.
    pub(crate) fn receiving(&self) -> bool {
        !self.stopped && (self.frame.is_some() || self.message.is_some() || !self.input.is_empty())
    }

    /// Starts the message timeout ([`Config::message_timeout`]) at `now` if
    /// a message is arriving and it is not running; the connection's
    /// [`handle_timeout`](crate::Connection::handle_timeout) does this for
    /// an attached receiver. Calling it again changes nothing.
    pub fn start_timer(&mut self, config: &Config, now: Instant) {
        if let Some(timeout) = config.message_timeout {
            if self.progress.deadline.is_none() && self.receiving() {
                self.progress.deadline = Some(crate::timeout::later(now, timeout));
                self.progress.mark = self.progress.frames_completed;
            }
        }
    }

    /// When the message timeout needs attention: [`Timeout::Now`] when a
    /// message began to arrive and the timeout has not started (call
    /// [`start_timer`](Self::start_timer)), its deadline once started, `None`
    /// otherwise. When the deadline passes, the connection's
    /// [`handle_timeout`](crate::Connection::handle_timeout) decides whether
    /// the message stalled. A pure query.
    #[must_use]
    #[inline]
    pub fn poll_timeout(&self, config: &Config) -> Option<Timeout> {
        if self.timer_due_to_start(config) {
            return Some(Timeout::Now);
        }
        self.progress.deadline.map(Timeout::At)
    }

    /// Whether the message timeout neither runs nor has reason to start.
    #[inline]
    pub(crate) fn timers_idle(&self) -> bool {
        self.progress.deadline.is_none() && !self.receiving()
    }

    /// Whether the message timeout should start: a message is arriving and
    /// it is not running.
    pub(crate) fn timer_due_to_start(&self, config: &Config) -> bool {
        config.message_timeout.is_some() && self.progress.deadline.is_none() && self.receiving()
    }

    /// At a passed deadline: the error if no frame completed since it was
    /// armed while a message is still arriving; else disarms it (the next
    /// `poll_timeout` re-arms it if there is still something to time).
    pub(crate) fn check_timeout(&mut self, now: Instant) -> Option<ProtocolError> {
        let progress = &mut self.progress;
        if progress.deadline.is_some_and(|deadline| deadline <= now) {
            progress.deadline = None;
            if progress.frames_completed == progress.mark && self.receiving() {
                return Some(ProtocolError::MessageTimeout);
            }
        }
        None
    }

    // ----- streaming -----

    /// Hands out the next data message in pieces as it arrives
    /// ([`Received::Chunk`], [`Event::Chunk`](crate::Event::Chunk)) instead
    /// of assembling it, with `limit` in place of
    /// [`Config::max_message_size`] and no frame size or fragment count
    /// limit (nothing is held per frame): memory stays bounded by what one
    /// read brings, whatever the message's size. Text is still checked as
    /// UTF-8 as it arrives, and a compressed message is inflated a bounded
    /// piece at a time.
    ///
    /// Applies to one message: the one under way, if one is (what was
    /// assembled of it comes out as its first piece), or else the next
    /// one. After the piece with [`Chunk::fin`], messages are whole again.
    /// Asked again before the message ended, the limit changes.
    pub fn stream_next_message(&mut self, limit: u64) {
        let Some(message) = self.message.as_mut() else {
            self.rare.get_or_insert_with(Box::default).stream_next = Some(limit);
            return;
        };
        match message.stream.as_mut() {
            Some(stream) => stream.limit = limit,
            None => {
                let pending = std::mem::take(&mut message.data);
                message.stream = Some(Box::new(Streamed {
                    limit,
                    taken: pending.len() as u64,
                    handed_out: 0,
                    pending,
                    ending: false,
                    first: true,
                }));
            }
        }
    }

    /// Takes back [`stream_next_message`](Self::stream_next_message) for a
    /// message that has not started: it is assembled, as usual. One under
    /// way stays streamed.
    pub fn assemble_next_message(&mut self) {
        if let Some(rare) = self.rare.as_mut() {
            rare.stream_next = None;
        }
    }

    /// Whether a streamed message is under way or asked for: its pieces
    /// are what comes next.
    pub fn is_streaming(&self) -> bool {
        self.stream_next().is_some()
            || self
                .message
                .as_ref()
                .is_some_and(|message| message.stream.is_some())
    }

    /// The limit of the next data message, to be streamed once its first
    /// frame arrives.
    fn stream_next(&self) -> Option<u64> {
        self.rare.as_ref().and_then(|rare| rare.stream_next)
    }

    fn take_stream_next(&mut self) -> Option<u64> {
        self.rare.as_mut().and_then(|rare| rare.stream_next.take())
    }

    /// Hands out what a streamed message has pending: `None` when it has
    /// nothing (or no streamed message is under way).
    fn step_pending(&mut self) -> Result<Option<Step>, ProtocolError> {
        let Some(message) = self.message.as_mut() else {
            return Ok(None);
        };
        let Some(stream) = message.stream.as_mut() else {
            return Ok(None);
        };
        if stream.pending.is_empty() && !stream.ending {
            return Ok(None);
        }
        let data = if message.compressed && !stream.pending.is_empty() {
            #[cfg(feature = "deflate")]
            {
                let inflater = self
                    .inflater
                    .as_mut()
                    .expect("RSV1 is only allowed with deflate negotiated");
                let (consumed, out) = inflater.inflate_some(&stream.pending, STREAM_PIECE)?;
                stream.pending.advance(consumed);
                Bytes::from(out)
            }
            #[cfg(not(feature = "deflate"))]
            unreachable!("RSV1 is only allowed with deflate negotiated")
        } else {
            std::mem::take(&mut stream.pending).freeze()
        };
        let done = stream.ending && stream.pending.is_empty();
        stream.handed_out += data.len() as u64;
        if stream.handed_out > stream.limit {
            return Err(ProtocolError::MessageTooBig {
                size: stream.handed_out,
                limit: usize::try_from(stream.limit).unwrap_or(usize::MAX),
            });
        }
        if message.text && message.compressed {
            message.utf8.feed(&data)?;
        }
        if data.is_empty() && !done {
            return Ok(Some(Step::Progress));
        }
        if done && message.text {
            message.utf8.finish()?;
        }
        let chunk = Chunk {
            kind: if message.text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            },
            data,
            first: stream.first,
            fin: done,
        };
        stream.first = false;
        if done {
            #[cfg(feature = "deflate")]
            if message.compressed {
                if let Some(inflater) = self.inflater.as_mut() {
                    inflater.end_streamed();
                }
            }
            self.message = None;
        }
        Ok(Some(Step::Chunk(chunk)))
    }

    /// A streamed message's frame: what arrived of it is unmasked and taken
    /// out of the input at once, to be handed out. The frame's header then
    /// describes what is left of it: its length shrinks, and its masking key
    /// turns so that the next byte is unmasked with the key byte it would
    /// have had (RFC 6455 section 5.3: `j MOD 4`).
    fn step_streamed_payload(&mut self) -> Result<Step, ProtocolError> {
        let frame = self.frame.as_mut().expect("a frame under way");
        let header = frame.header;
        let remaining = header.payload_len;
        let available = (self.input.len() as u64).min(remaining) as usize;
        let message = self
            .message
            .as_mut()
            .expect("a data frame belongs to a message");
        if available > frame.processed {
            let new = &mut self.input[frame.processed..available];
            if let Some(key) = header.mask {
                apply_mask(new, key, frame.processed);
            }
            if message.text && !message.compressed {
                message.utf8.feed(new)?;
            }
        }
        if available == 0 && remaining > 0 {
            return Ok(Step::NeedMore);
        }
        frame.header.payload_len -= available as u64;
        if let Some(key) = frame.header.mask.as_mut() {
            key.rotate_left(available % 4);
        }
        frame.processed = 0;
        let frame_done = frame.header.payload_len == 0;
        if frame_done {
            self.frame = None;
        }
        let piece = if available == self.input.len() {
            std::mem::take(&mut self.input)
        } else {
            self.input.split_to(available)
        };
        let stream = message.stream.as_mut().expect("a streamed message");
        stream.taken += available as u64;
        if stream.pending.is_empty() {
            stream.pending = piece;
        } else {
            stream.pending.extend_from_slice(&piece);
        }
        if frame_done && header.fin {
            stream.ending = true;
            #[cfg(feature = "deflate")]
            if message.compressed {
                stream.pending.extend_from_slice(&crate::deflate::TAIL);
            }
        }
        Ok(Step::Progress)
    }

    // ----- parsing -----

    /// Parses data frames only: the next whole data message, an error, or
    /// [`Received::NeedsConnection`] when a control frame, the end of input
    /// or an error is next. For the reader half of a split connection, which handles
    /// data on its own and everything else with the connection attached.
    pub fn poll_data(&mut self, config: &Config) -> Received {
        loop {
            if self
                .rare
                .as_ref()
                .is_some_and(|rare| rare.failure.is_some())
            {
                return Received::NeedsConnection;
            }
            if self.stopped {
                // Input is ignored now (the peer's close arrived, or the
                // connection failed): what is left is the end of input,
                // which the connection turns into its last event. Until it
                // comes, read on (and drop what arrives).
                return if self.eof {
                    Received::NeedsConnection
                } else {
                    Received::NeedMore
                };
            }
            let control_next = match &self.frame {
                Some(frame) => frame.header.opcode.is_control(),
                // The opcode is in the low bits of the first byte (RFC 6455 section 5.2).
                None => self.input.first().is_some_and(|byte| byte & 0x08 != 0),
            };
            if control_next {
                return Received::NeedsConnection;
            }
            match self.step(config) {
                Ok(Step::Message(message)) => return Received::Message(message),
                Ok(Step::Chunk(chunk)) => return Received::Chunk(chunk),
                Ok(Step::Progress) => {}
                Ok(Step::NeedMore) if self.eof => return Received::NeedsConnection,
                Ok(Step::NeedMore) => return Received::NeedMore,
                Ok(Step::Control(..)) => unreachable!("control frames are left to the connection"),
                Err(error) => {
                    self.rare.get_or_insert_with(Box::default).failure = Some(error);
                    return Received::NeedsConnection;
                }
            }
        }
    }

    /// One parsing step: a whole message or control frame, progress, or
    /// the need for more input.
    pub(crate) fn step(&mut self, config: &Config) -> Result<Step, ProtocolError> {
        if let Some(error) = self.rare.as_mut().and_then(|rare| rare.failure.take()) {
            return Err(error);
        }
        let step = self.step_inner(config)?;
        // A streamed message's every piece is progress too: it may be one
        // frame of a gigabyte.
        if matches!(step, Step::Chunk(_))
            || matches!(step, Step::Message(_) | Step::Control(..)) && self.message.is_none()
        {
            self.progress.frames_completed = self.progress.frames_completed.wrapping_add(1);
        }
        Ok(step)
    }

    fn step_inner(&mut self, config: &Config) -> Result<Step, ProtocolError> {
        if let Some(step) = self.step_pending()? {
            return Ok(step);
        }
        if self.frame.is_some() {
            return self.step_payload(config);
        }
        if self.input.len() < 2 {
            // No header is shorter (RFC 6455 section 5.2).
            return Ok(Step::NeedMore);
        }
        let (header, header_len) = match FrameHeader::decode(&self.input, &self.rules)? {
            Decode::Complete(decoded) => decoded,
            Decode::NeedMore { .. } => return Ok(Step::NeedMore),
        };
        if header.rsv1 && (header.opcode.is_control() || header.opcode == OpCode::Continuation) {
            // RSV1 marks a compressed message on its first frame only
            // (RFC 7692 section 6.1); decode allowed it only if negotiated.
            return Err(ws_frame::FrameError::ReservedBits(0x40).into());
        }
        if header.opcode.is_data() {
            self.check_data_frame(&header, config)?;
        }
        self.input.advance(header_len);
        let len = header.payload_len as usize; // bounded by max_frame_size or 125

        // Fast path: a whole unfragmented message or control frame is in the
        // buffer. Hand out a slice of the buffer itself.
        if self.input.len() >= len
            && (header.opcode.is_control()
                || (header.fin && self.message.is_none() && self.stream_next().is_none()))
        {
            let mut payload = self.take_input(len);
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            let message = match header.opcode {
                OpCode::Text | OpCode::Binary if header.rsv1 => {
                    let data = self.inflate(&payload, config)?;
                    data_message(header.opcode == OpCode::Text, data)?
                }
                OpCode::Text => {
                    check_utf8_whole(&payload)?;
                    Message::Text(Utf8Bytes::from_validated(payload.freeze()))
                }
                OpCode::Binary => Message::Binary(payload.freeze()),
                control => return Ok(Step::Control(control, payload.freeze())),
            };
            return Ok(Step::Message(message));
        }

        if header.opcode.is_data() && header.opcode != OpCode::Continuation {
            self.message = Some(Box::new(IncomingMessage {
                text: header.opcode == OpCode::Text,
                compressed: header.rsv1,
                data: BytesMut::new(),
                utf8: Utf8Validator::new(),
                fragments: 0,
                stream: self.take_stream_next().map(|limit| {
                    Box::new(Streamed {
                        limit,
                        taken: 0,
                        handed_out: 0,
                        pending: BytesMut::new(),
                        ending: false,
                        first: true,
                    })
                }),
            }));
        }
        if let Some(message) = self.message.as_mut().filter(|_| header.opcode.is_data()) {
            message.fragments += 1;
        }
        self.frame = Some(IncomingFrame {
            header,
            processed: 0,
        });
        Ok(Step::Progress)
    }

    /// The first `len` bytes of the input, without promoting the buffer to a
    /// shared one when they are all of it (the usual case: one message read).
    fn take_input(&mut self, len: usize) -> BytesMut {
        if len == self.input.len() {
            std::mem::take(&mut self.input)
        } else {
            self.input.split_to(len)
        }
    }

    /// Fragmentation rules and limits, checked from the header alone so that
    /// nothing of an oversized frame is buffered ([RFC 6455 section 5.4]).
    ///
    /// [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4
    fn check_data_frame(&self, header: &FrameHeader, config: &Config) -> Result<(), ProtocolError> {
        match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        let streamed = match &self.message {
            Some(message) => message
                .stream
                .as_ref()
                .map(|stream| (stream.limit, stream.taken)),
            None => self.stream_next().map(|limit| (limit, 0)),
        };
        if let Some((limit, taken)) = streamed {
            // Nothing is held per frame: only the message's size is
            // limited. A compressed one is checked as it inflates.
            let compressed = header.rsv1
                || self
                    .message
                    .as_ref()
                    .is_some_and(|message| message.compressed);
            let size = taken.saturating_add(header.payload_len);
            if !compressed && size > limit {
                return Err(ProtocolError::MessageTooBig {
                    size,
                    limit: usize::try_from(limit).unwrap_or(usize::MAX),
                });
            }
            return Ok(());
        }
        if header.payload_len > config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooBig {
                size: header.payload_len,
                limit: config.max_frame_size,
            });
        }
        let so_far = self
            .message
            .as_ref()
            .map_or(0, |message| message.data.len() as u64);
        let size = so_far + header.payload_len;
        if size > config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooBig {
                size,
                limit: config.max_message_size,
            });
        }
        if let Some(message) = &self.message {
            if message.fragments >= config.max_fragments {
                return Err(ProtocolError::TooManyFragments {
                    limit: config.max_fragments,
                });
            }
        }
        Ok(())
    }

    /// A frame's payload arriving in pieces stays in the input buffer until
    /// it is whole (bounded by `max_frame_size`), so that it is taken out
    /// with one split rather than copied piece by piece. What has arrived is
    /// unmasked at once, and text is validated as it comes: invalid UTF-8
    /// fails the connection as soon as it arrives, not at the end of the
    /// frame (RFC 6455 section 8.1).
    fn step_payload(&mut self, config: &Config) -> Result<Step, ProtocolError> {
        let frame = self.frame.as_mut().expect("step_payload with a frame");
        let header = frame.header;
        if header.opcode.is_data()
            && self
                .message
                .as_ref()
                .is_some_and(|message| message.stream.is_some())
        {
            return self.step_streamed_payload();
        }
        let len = header.payload_len as usize;
        let available = self.input.len().min(len);
        if available > frame.processed {
            let new = &mut self.input[frame.processed..available];
            if let Some(key) = header.mask {
                apply_mask(new, key, frame.processed);
            }
            if let Some(message) = self.message.as_mut().filter(|_| header.opcode.is_data()) {
                if message.text && !message.compressed {
                    message.utf8.feed(new)?;
                }
            }
            frame.processed = available;
        }
        if available < len {
            return Ok(Step::NeedMore);
        }
        self.frame = None;
        let chunk = self.take_input(len);

        if header.opcode.is_control() {
            return Ok(Step::Control(header.opcode, chunk.freeze()));
        }

        let message = self
            .message
            .as_mut()
            .expect("a data frame belongs to a message");
        if message.data.is_empty() {
            message.data = chunk;
        } else {
            message.data.extend_from_slice(&chunk);
        }
        if !header.fin {
            return Ok(Step::Progress);
        }
        let mut message = self.message.take().expect("checked above");
        if message.compressed {
            let data = self.inflate(&message.data, config)?;
            return Ok(Step::Message(data_message(message.text, data)?));
        }
        let data = message.data.freeze();
        let message = if message.text {
            message.utf8.finish()?;
            Message::Text(Utf8Bytes::from_validated(data))
        } else {
            Message::Binary(data)
        };
        Ok(Step::Message(message))
    }

    /// Inflates a compressed message's payload within the message size limit.
    #[cfg(feature = "deflate")]
    fn inflate(&mut self, payload: &[u8], config: &Config) -> Result<Bytes, ProtocolError> {
        self.inflater
            .as_mut()
            .expect("RSV1 is only allowed with deflate negotiated")
            .decompress(payload, config.max_message_size)
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate(&mut self, _: &[u8], _: &Config) -> Result<Bytes, ProtocolError> {
        unreachable!("RSV1 is only allowed with deflate negotiated")
    }
}

/// A whole data message from its (inflated) payload, validated if text.
fn data_message(text: bool, data: Bytes) -> Result<Message, ProtocolError> {
    if text {
        check_utf8_whole(&data)?;
        Ok(Message::Text(Utf8Bytes::from_validated(data)))
    } else {
        Ok(Message::Binary(data))
    }
}

/// Validates a whole text payload; on failure, finds the first bad byte.
fn check_utf8_whole(payload: &[u8]) -> Result<(), ProtocolError> {
    Ok(ws_frame::validate_utf8(payload)?)
}
