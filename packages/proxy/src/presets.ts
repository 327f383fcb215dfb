/**
 * Named allowlist presets: host lists operators switch on explicitly (`--allow-preset NAME`,
 * `presets: [NAME]`); none is ever enabled by default.
 * @module
 */

/**
 * Allowlist presets by name. `calling-vendors` lists the public signaling domains of common
 * calling vendors: Agora (`*.agora.io`, `*.sd-rtn.com`), Twilio (`*.twilio.com`), Zoom
 * (`*.zoom.us`), Daily (`*.daily.co`), LiveKit Cloud (`*.livekit.cloud`), Vonage
 * (`*.opentok.com`, `*.vonage.com`) and 100ms (`*.100ms.live`).
 */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  'calling-vendors': [
    '*.agora.io',
    '*.sd-rtn.com',
    '*.twilio.com',
    '*.zoom.us',
    '*.daily.co',
    '*.livekit.cloud',
    '*.opentok.com',
    '*.vonage.com',
    '*.100ms.live',
  ],
};
