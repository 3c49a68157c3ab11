/** Name and place lists the synthetic population draws from. Order matters: it is part of the seed's meaning. */

export interface District {
  name: string;
  island: 'São Tomé' | 'Príncipe';
  seat: string;
  /** Rough share of the national population, so most people come from Água Grande as in life. */
  weight: number;
}

export const STP_DISTRICTS: readonly District[] = [
  { name: 'Água Grande', island: 'São Tomé', seat: 'São Tomé', weight: 38 },
  { name: 'Mé-Zóchi', island: 'São Tomé', seat: 'Trindade', weight: 24 },
  { name: 'Cantagalo', island: 'São Tomé', seat: 'Santana', weight: 9 },
  { name: 'Caué', island: 'São Tomé', seat: 'São João dos Angolares', weight: 3 },
  { name: 'Lembá', island: 'São Tomé', seat: 'Neves', weight: 8 },
  { name: 'Lobata', island: 'São Tomé', seat: 'Guadalupe', weight: 11 },
  // The Autonomous Region of Príncipe has a single district, Pagué.
  { name: 'Pagué', island: 'Príncipe', seat: 'Santo António', weight: 4 },
];

export const MALE_GIVEN_NAMES: readonly string[] = [
  'António', 'Manuel', 'José', 'João', 'Francisco', 'Carlos', 'Domingos', 'Fernando', 'Jorge', 'Luís',
  'Miguel', 'Pedro', 'Paulo', 'Nuno', 'Rui', 'Adelino', 'Aurélio', 'Celestino', 'Evaristo', 'Gaudêncio',
  'Hélder', 'Leonel', 'Osvaldo', 'Patrice', 'Abel', 'Armindo', 'Delfim', 'Elsio', 'Filinto', 'Jerónimo',
];

export const FEMALE_GIVEN_NAMES: readonly string[] = [
  'Maria', 'Ana', 'Isabel', 'Teresa', 'Joana', 'Rosa', 'Fátima', 'Conceição', 'Lurdes', 'Graça',
  'Helena', 'Beatriz', 'Sara', 'Marta', 'Celeste', 'Domingas', 'Elsa', 'Filomena', 'Alda', 'Natália',
  'Olinda', 'Ilza', 'Lígia', 'Nazaré', 'Madalena', 'Albertina', 'Edite', 'Guilhermina', 'Irene', 'Vera',
];

export const SURNAMES: readonly string[] = [
  'Afonso', 'Aguiar', 'Almeida', 'Andrade', 'Bandeira', 'Barros', 'Boa Morte', 'Bragança', 'Carvalho',
  'Ceita', 'Costa', 'Cravid', 'Daio', 'Dias', 'Espírito Santo', 'Fernandes', 'Fonseca', 'Graça', 'Lima',
  'Lopes', 'Mendes', 'Menezes', 'Neto', 'Pereira', 'Pinto', 'Pontes', 'Quaresma', 'Ramos', 'Rita',
  'Santos', 'Sousa', 'Tiny', 'Trovoada', 'Vaz', 'Viegas', 'Vera Cruz',
];

export interface NationalityNames {
  /** ISO 3166-1 alpha-3. */
  code: string;
  weight: number;
  male: readonly string[];
  female: readonly string[];
  surnames: readonly string[];
}

export const FOREIGN_NATIONALITIES: readonly NationalityNames[] = [
  {
    code: 'PRT', weight: 25,
    male: ['Tiago', 'Duarte', 'Gonçalo', 'Ricardo', 'Bruno'],
    female: ['Inês', 'Catarina', 'Rita', 'Mariana', 'Sofia'],
    surnames: ['Silva', 'Ferreira', 'Oliveira', 'Rodrigues', 'Martins', 'Gomes'],
  },
  {
    code: 'AGO', weight: 20,
    male: ['Adilson', 'Kiala', 'Nzinga', 'Mateus', 'Hélio'],
    female: ['Luzia', 'Esperança', 'Nsimba', 'Adelaide', 'Yola'],
    surnames: ['Kiala', 'Mbemba', 'Tavares', 'Neto', 'Cassoma', 'Chipenda'],
  },
  {
    code: 'CPV', weight: 15,
    male: ['Edson', 'Djalma', 'Nelson', 'Amílcar', 'Ivo'],
    female: ['Cesária', 'Nilda', 'Zuleica', 'Odete', 'Dulce'],
    surnames: ['Tavares', 'Monteiro', 'Semedo', 'Varela', 'Furtado', 'Lopes'],
  },
  {
    code: 'GAB', weight: 10,
    male: ['Jean', 'Serge', 'Rodrigue', 'Landry', 'Guy'],
    female: ['Aurélie', 'Nadège', 'Ornella', 'Prisca', 'Sylvie'],
    surnames: ['Ndong', 'Mba', 'Obiang', 'Moussavou', 'Nzé', 'Ondo'],
  },
  {
    code: 'GNQ', weight: 8,
    male: ['Teodoro', 'Santiago', 'Crisantos', 'Plácido', 'Agustín'],
    female: ['Constancia', 'Pilar', 'Rosario', 'Milagrosa', 'Trinidad'],
    surnames: ['Nguema', 'Esono', 'Ela', 'Nsue', 'Obama', 'Mangue'],
  },
  {
    code: 'NGA', weight: 8,
    male: ['Chinedu', 'Emeka', 'Tunde', 'Ibrahim', 'Olusegun'],
    female: ['Ngozi', 'Aisha', 'Funmilayo', 'Chioma', 'Yetunde'],
    surnames: ['Okafor', 'Adeyemi', 'Bello', 'Eze', 'Ogunleye', 'Nwosu'],
  },
  {
    code: 'BRA', weight: 7,
    male: ['Rafael', 'Thiago', 'Gustavo', 'Leandro', 'Wellington'],
    female: ['Juliana', 'Fernanda', 'Camila', 'Larissa', 'Patrícia'],
    surnames: ['Souza', 'Ribeiro', 'Barbosa', 'Araújo', 'Cavalcanti', 'Nascimento'],
  },
  {
    code: 'CHN', weight: 7,
    male: ['Wei', 'Jun', 'Hao', 'Lei', 'Ming'],
    female: ['Li', 'Fang', 'Xiu', 'Mei', 'Yan'],
    surnames: ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang'],
  },
];
