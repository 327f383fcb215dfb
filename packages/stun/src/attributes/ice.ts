/**
 * ICE connectivity-check attributes: PRIORITY, USE-CANDIDATE, ICE-CONTROLLED, ICE-CONTROLLING.
 * @module
 */
import { AttrType } from '../constants.js';
import { flagAttribute, uint32Attribute, uint64Attribute } from './primitives.js';

/** PRIORITY: the priority of the peer-reflexive candidate. RFC 8445 §16.1. */
export const priority = uint32Attribute(AttrType.Priority, 'PRIORITY');

/** USE-CANDIDATE: the controlling agent nominates this pair; empty value, decoded as `true`. RFC 8445 §16.1. */
export const useCandidate = flagAttribute(AttrType.UseCandidate, 'USE-CANDIDATE');

/** ICE-CONTROLLED: the sender is controlled; value is its 64-bit tie-breaker. RFC 8445 §16.1. */
export const iceControlled = uint64Attribute(AttrType.IceControlled, 'ICE-CONTROLLED');

/** ICE-CONTROLLING: the sender is controlling; value is its 64-bit tie-breaker. RFC 8445 §16.1. */
export const iceControlling = uint64Attribute(AttrType.IceControlling, 'ICE-CONTROLLING');
