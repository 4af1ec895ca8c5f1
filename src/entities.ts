import { type Database, openDatabase } from './db/database.js';
import { ApiToken } from './modules/accounts/api-token.entity.js';
import { Customer } from './modules/accounts/customer.entity.js';
import { User } from './modules/accounts/user.entity.js';
import { Delivery } from './modules/announcements/delivery.entity.js';
import { DeliveryAttempt } from './modules/announcements/delivery-attempt.entity.js';
import { Signal, SignalStream } from './modules/announcements/signal.entity.js';
import { Device } from './modules/devices/device.entity.js';
import { Template } from './modules/devices/template.entity.js';
import { Task } from './modules/exports/task.entity.js';
import { Trigger } from './modules/triggers/trigger.entity.js';
import { Trip } from './modules/trips/trip.entity.js';

/** Every entity, listed once: the ORM config, the migrations check and the tests read this. */
export const ENTITIES = [Customer, User, ApiToken, Template, Device, Trip, Signal, SignalStream, Trigger, Delivery, DeliveryAttempt, Task];

/** The service's database: the ORM over every entity and a plain pool for COPY traffic. */
export const openAppDatabase = (url: string, poolSize?: number): Promise<Database> => openDatabase(url, ENTITIES, poolSize);
