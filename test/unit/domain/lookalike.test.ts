import { describe, expect, it } from 'vitest';
import { lookalikeFold, lookalikeFoldGlob } from '../../../functions/shared/domain/lookalike';
import { globMatches } from '../../../functions/shared/domain/paths';

describe('lookalikeFold (UTS #39 skeleton after NFKC and lower-casing)', () => {
  it('folds look-alikes of one name together', () => {
    const git = lookalikeFold('.git');
    for (const disguise of [
      '.GIT',
      '.g\u0456t',
      '.\u0261it',
      '.g\u0131t',
      '\uff0egit',
      '\u2024git',
      '.g\u200bit',
      '.gi\u0308t',
    ]) {
      expect(lookalikeFold(disguise), JSON.stringify(disguise)).toBe(git);
    }
  });

  it('keeps different names apart', () => {
    expect(lookalikeFold('.gitignore')).not.toBe(lookalikeFold('.git'));
    expect(lookalikeFold('src')).not.toBe(lookalikeFold('sre'));
    // ASCII confusables per confusables.txt: rn/m, 0/O, 1/l.
    expect(lookalikeFold('cornpose')).toBe(lookalikeFold('compose'));
  });

  it('folds only the literal parts of a glob', () => {
    expect(lookalikeFoldGlob('.github/**')).toBe('.github/**');
    expect(lookalikeFoldGlob('**/*.pem')).toBe('**/*.pern');
    expect(lookalikeFoldGlob('{Dockerfile,*.dockerfile}')).toBe('{dockerfile,*.dockerfile}');
    expect(globMatches(lookalikeFoldGlob('**/*.pem'), `keys/${lookalikeFold('k\u0435y.p\u0435m')}`)).toBe(
      true,
    );
  });
});
