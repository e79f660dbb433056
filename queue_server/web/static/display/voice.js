// Call announcements: a chime, then the text spoken (browser voice or the server's WAV),
// one at a time, never overlapping. `entries` is exposed for tests as
// window.hallQueue.announcements: [{seq, text, state}], state one of
// muted (sound not enabled yet) | queued | speaking | done | failed | skipped.

const MAX_ENTRIES = 50;
// A queue longer than this is a burst: older calls are skipped, the screen shows them anyway.
const MAX_WAITING = 3;

export class Announcer {
  constructor({ hall, token, preferServerVoice = false }) {
    this.hall = hall;
    this.token = token;
    this.preferServerVoice = preferServerVoice;
    this.entries = [];
    this.enabled = false;
    this.silent = false;
    this.busy = false;
    this.audio = null; // AudioContext, created on the user's click
  }

  // Called from a click: browsers only allow sound after a user gesture.
  async enable() {
    this.enabled = true;
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !this.audio) this.audio = new Context();
      if (this.audio && this.audio.state === "suspended") await this.audio.resume();
    } catch (err) {
      console.warn("no WebAudio:", err);
    }
    if ("speechSynthesis" in window) window.speechSynthesis.getVoices(); // start loading
    this.pump();
  }

  // A hall TV whose browser allows sound without a gesture (Chromium started with
  // --autoplay-policy=no-user-gesture-required, see README) speaks from the start: true when
  // sound came on without a click. Elsewhere the audio stays suspended and this answers false.
  async tryAutoplay() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || this.enabled) return this.enabled;
    let ctx;
    try {
      ctx = new Context();
      // without the browser's leave, resume() stays pending until a gesture: do not wait on it
      if (ctx.state === "suspended") await Promise.race([ctx.resume(), sleep(300)]);
    } catch (err) {
      return false;
    }
    if (ctx.state !== "running") {
      ctx.close().catch(() => {});
      return false;
    }
    this.audio = ctx;
    await this.enable();
    return true;
  }

  setSilent(silent) {
    this.silent = silent;
    if (silent) {
      for (const e of this.entries) if (e.state === "queued") e.state = "skipped";
      if ("speechSynthesis" in window) window.speechSynthesis.cancel();
    }
  }

  // `number` (the ticket) lets a recall replace the same ticket's call still waiting.
  enqueue(seq, text, number = null) {
    if (this.silent) return;
    for (const e of this.entries) {
      if (e.state === "queued" && number !== null && e.number === number) e.state = "skipped";
    }
    this.entries.push({ seq, text, number, state: this.enabled ? "queued" : "muted" });
    const waiting = this.entries.filter((e) => e.state === "queued");
    for (const e of waiting.slice(0, Math.max(0, waiting.length - MAX_WAITING))) e.state = "skipped";
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    this.pump();
  }

  async pump() {
    if (this.busy || !this.enabled) return;
    this.busy = true;
    try {
      let entry;
      while ((entry = this.entries.find((e) => e.state === "queued"))) {
        entry.state = "speaking";
        try {
          await this.chime();
          await this.speak(entry);
          entry.state = "done";
        } catch (err) {
          console.warn("announcement", entry.seq, "failed:", err);
          entry.state = "failed";
        }
      }
    } finally {
      this.busy = false;
    }
  }

  // A two-tone "ding-dong", generated (no audio file).
  chime() {
    const ctx = this.audio;
    if (!ctx || ctx.state !== "running") return Promise.resolve();
    const start = ctx.currentTime + 0.05;
    [[880, 0], [659.25, 0.45]].forEach(([freq, offset]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 1.0);
    });
    return sleep(1500);
  }

  chineseVoice() {
    if (!("speechSynthesis" in window)) return null;
    return window.speechSynthesis.getVoices().find((v) => /^(zh|cmn)/i.test(v.lang)) || null;
  }

  speak(entry) {
    const voice = this.preferServerVoice ? null : this.chineseVoice();
    // Generous bound: ~0.3 s a character, so a stuck engine never blocks the queue.
    const limit = 3000 + entry.text.length * 300;
    return voice ? this.speakWithBrowser(entry.text, voice, limit) : this.playServerWav(entry.seq, limit);
  }

  speakWithBrowser(text, voice, limit) {
    return withTimeout(new Promise((resolve, reject) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onend = () => resolve();
      utterance.onerror = (e) => reject(new Error(e.error || "speech error"));
      window.speechSynthesis.speak(utterance);
    }), limit, () => window.speechSynthesis.cancel());
  }

  playServerWav(seq, limit) {
    const url = `/api/v1/halls/${encodeURIComponent(this.hall)}/announcements/${seq}.wav` +
      `?token=${encodeURIComponent(this.token)}`;
    const audio = new Audio(url);
    return withTimeout(new Promise((resolve, reject) => {
      audio.onended = () => resolve();
      audio.onerror = () => reject(new Error(`cannot play ${url.split("?")[0]}`));
      audio.play().catch(reject);
    }), limit, () => audio.pause());
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, onTimeout) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
