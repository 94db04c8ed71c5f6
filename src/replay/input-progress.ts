// What a replay's input loop asks of a resumable manifest: which inputs an earlier run committed, and which this run has.
//
// Inputs are numbered by location (the position of the path or s3:// URL on the command line) and named within it
// (an S3 key, or the local path itself). They are committed in order, so "done through input K of location L" says
// everything: locations before L are done, and in L every input up to K.

export interface ResumeState {
  /** An earlier run finished the whole location: nothing of it is listed or read. */
  locationDone(location: number): boolean;
  /** The last input of the location an earlier run committed (an S3 listing starts after this key); undefined: none. */
  after(location: number): string | undefined;
  /** Asked before an input is read: true when an earlier run committed it. */
  skip(location: number, name: string): boolean;
  /** Told once the input's last batch is committed (and after an input that failed, once what was read of it is). */
  done(location: number, name: string): void;
}
