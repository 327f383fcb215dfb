/**
 * The rooms of the demo call: named rooms of at most `maxMembers` members, created by the first
 * join and deleted when the last member leaves. No sockets here: a member is anything with a
 * `send(text)`; the WebSocket endpoint (`signal-server.ts`) owns the connections.
 *
 * Messages the server sends (JSON text):
 * - `{ type: 'joined', room, uid, peers: string[] }` to a member that joined (the uids already in
 *   the room; a member that finds a peer there makes the offer);
 * - `{ type: 'peer-joined', uid }` / `{ type: 'peer-left', uid }` to the others;
 * - `{ type: 'signal', from, data }`: a member's `{ type: 'signal', data }` relayed verbatim
 *   (`data` is an offer/answer description or an ICE candidate, never inspected).
 * @module
 */

/** One member of a room: its uid and where its messages go. */
export interface RoomMember {
  readonly uid: string;
  send(text: string): void;
}

/** Why a join was refused. */
export type JoinRefusal = 'room-full' | 'uid-taken' | 'too-many-rooms';

/** The outcome of {@link RoomRegistry.join}. */
export type JoinResult =
  { readonly ok: true } | { readonly ok: false; readonly reason: JoinRefusal };

/** Limits of the registry. */
export interface RoomLimits {
  /** Members per room; default 2 (the demo shows one remote video). */
  readonly maxMembers?: number;
  /** Rooms open at once; default 1000. */
  readonly maxRooms?: number;
}

/** Room and uid syntax: letters, digits, `-` and `_`, 1-32 (room) or 1-64 (uid) characters. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,32}$/;
export const MEMBER_UID = /^[A-Za-z0-9_-]{1,64}$/;

/** The rooms of one node, in memory. */
export class RoomRegistry {
  readonly #rooms = new Map<string, Map<string, RoomMember>>();
  readonly #maxMembers: number;
  readonly #maxRooms: number;

  constructor(limits: RoomLimits = {}) {
    this.#maxMembers = limits.maxMembers ?? 2;
    this.#maxRooms = limits.maxRooms ?? 1000;
  }

  /** Rooms open now. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** The uids in `room` (empty when the room does not exist). */
  members(room: string): string[] {
    return [...(this.#rooms.get(room)?.keys() ?? [])];
  }

  /** Adds `member` to `room` (creating it) and tells everyone; refuses a full room or a taken uid. */
  join(room: string, member: RoomMember): JoinResult {
    let members = this.#rooms.get(room);
    if (!members) {
      if (this.#rooms.size >= this.#maxRooms) return { ok: false, reason: 'too-many-rooms' };
      members = new Map();
      this.#rooms.set(room, members);
    }
    if (members.has(member.uid)) return { ok: false, reason: 'uid-taken' };
    if (members.size >= this.#maxMembers) return { ok: false, reason: 'room-full' };
    const peers = [...members.keys()];
    members.set(member.uid, member);
    member.send(JSON.stringify({ type: 'joined', room, uid: member.uid, peers }));
    this.#broadcast(members, member, { type: 'peer-joined', uid: member.uid });
    return { ok: true };
  }

  /** Removes `member` from `room`; the room is deleted when it becomes empty. Idempotent. */
  leave(room: string, member: RoomMember): void {
    const members = this.#rooms.get(room);
    if (members?.get(member.uid) !== member) return;
    members.delete(member.uid);
    if (members.size === 0) this.#rooms.delete(room);
    else this.#broadcast(members, member, { type: 'peer-left', uid: member.uid });
  }

  /** Relays `data` from `member` to the other members of its room; returns how many got it. */
  relay(room: string, member: RoomMember, data: unknown): number {
    const members = this.#rooms.get(room);
    if (members?.get(member.uid) !== member) return 0;
    return this.#broadcast(members, member, { type: 'signal', from: member.uid, data });
  }

  #broadcast(members: Map<string, RoomMember>, from: RoomMember, message: unknown): number {
    const text = JSON.stringify(message);
    let sent = 0;
    for (const other of members.values()) {
      if (other === from) continue;
      other.send(text);
      sent += 1;
    }
    return sent;
  }
}
