import rootSetup from '../../support/global-setup';
import { resetFigures } from './figures';

export default async function globalSetup(): Promise<void> {
  resetFigures();
  await rootSetup();
}
