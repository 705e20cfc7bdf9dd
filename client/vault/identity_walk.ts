/**
 * Where the age library stopped while opening a header, so that a failure
 * is told apart by that, never by the library's message (it has no error
 * codes). `Decrypter` parses the header, asks each identity in turn for the
 * file key, then checks the MAC; markers placed before and after the
 * identities, and wrappers around ours, record how far it got.
 *
 * @module
 */

import type { Decrypter, Identity, Stanza } from "age-encryption";

/** How a failed header opening ended, as {@linkcode IdentityWalk.outcome} tells. */
export type WalkOutcome =
  /** The header did not parse: no identity was asked. */
  | "unparsed"
  /** Every identity was asked and none had the key. */
  | "no_match"
  /** One of our identities found its stanza invalid. */
  | "invalid_stanza"
  /** An identity found the file key: the MAC check failed after it. */
  | "key_found"
  /**
   * An identity of the library (a passphrase, a post-quantum key) ended the
   * walk: it found the key and the MAC failed, or its stanza was invalid.
   */
  | "stopped";

/**
 * Records the library's walk over the identities of one `Decrypter`. Call
 * {@linkcode begin} before adding identities and {@linkcode end} after.
 */
export class IdentityWalk {
  #started = false;
  #exhausted = false;
  #ownThrew = false;
  #ownFound = false;

  /** Adds the marker that the walk began (the header parsed). */
  begin(decrypter: Decrypter): void {
    decrypter.addIdentity({
      unwrapFileKey: () => {
        this.#started = true;
        return null;
      },
    });
  }

  /** `identity` wrapped so that its answer is recorded. */
  watch(identity: Identity): Identity {
    return {
      unwrapFileKey: (stanzas: Stanza[]) => {
        let key;
        try {
          key = identity.unwrapFileKey(stanzas);
        } catch (error) {
          this.#ownThrew = true;
          throw error;
        }
        if (key instanceof Promise) {
          return key.then(
            (found) => this.#found(found),
            (error) => {
              this.#ownThrew = true;
              throw error;
            },
          );
        }
        return this.#found(key);
      },
    };
  }

  /** Adds the marker that every identity was asked in vain. */
  end(decrypter: Decrypter): void {
    decrypter.addIdentity({
      unwrapFileKey: () => {
        this.#exhausted = true;
        return null;
      },
    });
  }

  /** How the walk ended, after the library threw. */
  get outcome(): WalkOutcome {
    if (!this.#started) return "unparsed";
    if (this.#exhausted) return "no_match";
    if (this.#ownThrew) return "invalid_stanza";
    if (this.#ownFound) return "key_found";
    return "stopped";
  }

  #found(key: Uint8Array | null): Uint8Array | null {
    if (key !== null) this.#ownFound = true;
    return key;
  }
}
