import 'reflect-metadata';
import { container, type DependencyContainer } from 'tsyringe';

export type { DependencyContainer };

/**
 * A fresh container for `VoicebotApp.create({ config, container })`: register
 * replacements (`c.register(TOKENS.HttpClient, { useValue: myFetch })`) first,
 * so an embedding app needs no import of tsyringe itself.
 */
export function createContainer(): DependencyContainer {
  return container.createChildContainer();
}
