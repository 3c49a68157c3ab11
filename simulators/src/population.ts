import {
  FEMALE_GIVEN_NAMES,
  FOREIGN_NATIONALITIES,
  MALE_GIVEN_NAMES,
  STP_DISTRICTS,
  SURNAMES,
  type District,
} from './names.js';
import { deriveSeed, integerBetween, mulberry32, pick, pickWeighted, type Random } from './random.js';

/**
 * The deterministic synthetic population both simulators serve. Record `i` depends only on
 * the seed and `i`, so the demo-packet generator can build packets for the same people by
 * calling the same functions with the same seed.
 */

export type Sex = 'M' | 'F';
export type CivilStatus = 'ALIVE' | 'DECEASED';
export type PermitType = 'TEMPORARY' | 'PERMANENT' | 'WORK' | 'STUDY' | 'FAMILY';
export type PermitStatus = 'VALID' | 'EXPIRED' | 'REVOKED';

export interface ParentName {
  givenNames: string;
  surname: string;
}

export interface PlaceOfBirth {
  district: string;
  island: District['island'];
  locality: string;
}

export interface Citizen {
  civilRegistryNumber: string;
  givenNames: string;
  surname: string;
  dateOfBirth: string;
  sex: Sex;
  placeOfBirth: PlaceOfBirth;
  mother: ParentName;
  father: ParentName;
  civilStatus: CivilStatus;
  /** Present only when `civilStatus` is DECEASED. */
  dateOfDeath: string | null;
}

export interface Foreigner {
  permitNumber: string;
  givenNames: string;
  surname: string;
  /** ISO 3166-1 alpha-3. */
  nationality: string;
  dateOfBirth: string;
  sex: Sex;
  permitType: PermitType;
  validFrom: string;
  validUntil: string;
  status: PermitStatus;
}

export interface PopulationOptions {
  seed?: number;
  citizens?: number;
  foreigners?: number;
  /** The "today" that permit validity is judged against; fixed so status never drifts with the clock. */
  referenceDate?: string;
}

export const DEFAULT_SEED = 23912;
export const DEFAULT_CITIZENS = 10_000;
export const DEFAULT_FOREIGNERS = 1_000;
export const DEFAULT_REFERENCE_DATE = '2025-06-30';

const CIVIL_REGISTRY_PREFIX = 'RC';
const PERMIT_PREFIX = 'AR';

/** A mod-11 style check digit (0–9), so mistyped numbers are caught before any lookup. */
function checkDigit(serial: string): number {
  let sum = 0;
  for (let k = 0; k < serial.length; k++) sum += Number(serial[serial.length - 1 - k]) * (k + 2);
  return (11 - (sum % 11)) % 10;
}

function formatNumber(prefix: string, width: number, index: number): string {
  const serial = String(index + 1).padStart(width, '0');
  return `${prefix}-${serial}-${checkDigit(serial)}`;
}

function parseNumber(prefix: string, width: number, value: string): number | undefined {
  const match = new RegExp(`^${prefix}-(\\d{${width}})-(\\d)$`).exec(value);
  if (!match || !match[1] || !match[2]) return undefined;
  if (checkDigit(match[1]) !== Number(match[2])) return undefined;
  return Number(match[1]) - 1;
}

export function civilRegistryNumber(index: number): string {
  return formatNumber(CIVIL_REGISTRY_PREFIX, 7, index);
}

export function permitNumber(index: number): string {
  return formatNumber(PERMIT_PREFIX, 6, index);
}

function isoDate(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

// Day 28 at most keeps every generated date valid without calendar arithmetic.
function randomDate(random: Random, fromYear: number, toYear: number): string {
  return isoDate(integerBetween(random, fromYear, toYear), integerBetween(random, 1, 12), integerBetween(random, 1, 28));
}

function addYears(date: string, years: number): string {
  return `${Number(date.slice(0, 4)) + years}${date.slice(4)}`;
}

function givenNames(random: Random, sex: Sex, male: readonly string[], female: readonly string[]): string {
  const names = sex === 'M' ? male : female;
  const first = pick(random, names);
  // About a third carry a second given name, as is common in Portuguese naming.
  if (random() < 0.35) {
    const second = pick(random, names);
    if (second !== first) return `${first} ${second}`;
  }
  return first;
}

export function generateCitizen(seed: number, index: number): Citizen {
  const random = mulberry32(deriveSeed(seed, 'citizen', index));
  const sex: Sex = random() < 0.5 ? 'M' : 'F';
  const dateOfBirth = randomDate(random, 1935, 2020);
  const district = pickWeighted(random, STP_DISTRICTS.map((d) => [d, d.weight] as const));
  const mother: ParentName = { givenNames: givenNames(random, 'F', MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES), surname: pick(random, SURNAMES) };
  const father: ParentName = { givenNames: givenNames(random, 'M', MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES), surname: pick(random, SURNAMES) };
  // Portuguese order: the mother's surname, then the father's.
  const surname = mother.surname === father.surname ? father.surname : `${mother.surname} ${father.surname}`;
  const birthYear = Number(dateOfBirth.slice(0, 4));
  const deathChance = birthYear < 1950 ? 0.4 : birthYear < 1970 ? 0.1 : 0.015;
  const deceased = random() < deathChance;
  return {
    civilRegistryNumber: civilRegistryNumber(index),
    givenNames: givenNames(random, sex, MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES),
    surname,
    dateOfBirth,
    sex,
    placeOfBirth: { district: district.name, island: district.island, locality: district.seat },
    mother,
    father,
    civilStatus: deceased ? 'DECEASED' : 'ALIVE',
    dateOfDeath: deceased ? randomDate(random, Math.max(birthYear + 1, 2000), 2024) : null,
  };
}

const PERMIT_TYPES: readonly (readonly [PermitType, number])[] = [
  ['TEMPORARY', 35],
  ['WORK', 30],
  ['PERMANENT', 15],
  ['STUDY', 10],
  ['FAMILY', 10],
];

const PERMIT_YEARS: Record<PermitType, number> = { TEMPORARY: 1, WORK: 2, STUDY: 1, FAMILY: 2, PERMANENT: 10 };

export function generateForeigner(seed: number, index: number, referenceDate = DEFAULT_REFERENCE_DATE): Foreigner {
  const random = mulberry32(deriveSeed(seed, 'foreigner', index));
  const nationality = pickWeighted(random, FOREIGN_NATIONALITIES.map((n) => [n, n.weight] as const));
  const sex: Sex = random() < 0.55 ? 'M' : 'F';
  const permitType = pickWeighted(random, PERMIT_TYPES);
  const status = pickWeighted<PermitStatus>(random, [['VALID', 75], ['EXPIRED', 18], ['REVOKED', 7]]);
  const referenceYear = Number(referenceDate.slice(0, 4));
  const years = PERMIT_YEARS[permitType];
  // Expired permits end before the reference date; valid ones are still running on it.
  let validFrom =
    status === 'EXPIRED'
      ? randomDate(random, referenceYear - years - 4, referenceYear - years - 1)
      : randomDate(random, referenceYear - years + 1, referenceYear);
  if (status !== 'EXPIRED' && validFrom > referenceDate) validFrom = addYears(validFrom, -1);
  return {
    permitNumber: permitNumber(index),
    givenNames: givenNames(random, sex, nationality.male, nationality.female),
    surname: pick(random, nationality.surnames),
    nationality: nationality.code,
    dateOfBirth: randomDate(random, 1950, 2005),
    sex,
    permitType,
    validFrom,
    validUntil: addYears(validFrom, years),
    status,
  };
}

export interface Population {
  readonly seed: number;
  readonly citizenCount: number;
  readonly foreignerCount: number;
  readonly referenceDate: string;
  citizen(index: number): Citizen;
  foreigner(index: number): Foreigner;
  findCitizen(civilRegistryNumber: string): Citizen | undefined;
  findForeigner(permitNumber: string): Foreigner | undefined;
}

export function createPopulation(options: PopulationOptions = {}): Population {
  const seed = options.seed ?? DEFAULT_SEED;
  const citizenCount = options.citizens ?? DEFAULT_CITIZENS;
  const foreignerCount = options.foreigners ?? DEFAULT_FOREIGNERS;
  const referenceDate = options.referenceDate ?? DEFAULT_REFERENCE_DATE;

  function inRange(index: number, count: number, what: string): void {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`${what} index ${index} is outside 0..${count - 1}`);
    }
  }

  return {
    seed,
    citizenCount,
    foreignerCount,
    referenceDate,
    citizen(index) {
      inRange(index, citizenCount, 'citizen');
      return generateCitizen(seed, index);
    },
    foreigner(index) {
      inRange(index, foreignerCount, 'foreigner');
      return generateForeigner(seed, index, referenceDate);
    },
    findCitizen(number) {
      const index = parseNumber(CIVIL_REGISTRY_PREFIX, 7, number);
      return index !== undefined && index < citizenCount ? generateCitizen(seed, index) : undefined;
    },
    findForeigner(number) {
      const index = parseNumber(PERMIT_PREFIX, 6, number);
      return index !== undefined && index < foreignerCount ? generateForeigner(seed, index, referenceDate) : undefined;
    },
  };
}
